#!/usr/bin/env bash
# A tour of the service with curl, from an empty database to a settled, audited cycle.
# Run it from the repository's root on a database that does not exist yet (or is empty):
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/clearing_tour PORT=8000 bash docs/tour.sh
# It writes the server's log, the payment files and the journal to $OUT (out/tour). To run it
# again, drop the database first: psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE clearing_tour'
set -euo pipefail
shopt -s inherit_errexit
for tool in clearing curl jq; do
  command -v "$tool" >/dev/null || { echo "the tour needs $tool on PATH" >&2; exit 2; }
done
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/clearing_tour}
PORT=${PORT:-8000}
API=http://127.0.0.1:$PORT
OUT=${OUT:-out/tour}
mkdir -p "$OUT"
if curl -s -o /dev/null "$API"; then
  echo "something already answers on $API: choose another PORT" >&2
  exit 1
fi
step() { printf '\n== %s\n' "$*"; }
# api KEY CURL_ARGS...: a JSON request made with KEY; the answer goes to stdout, or, when the
# API refuses (its error names the field at fault), to stderr, and the tour stops.
api() {
  local key=$1 answer
  shift
  if answer=$(curl -sS --fail-with-body -H "Authorization: Bearer $key" \
                   -H 'Content-Type: application/json' "$@"); then
    printf '%s\n' "$answer"
  else
    printf 'refused: %s\n' "$answer" >&2
    return 1
  fi
}

step "the database, the two clearing entities and the staff's keys"
clearing db upgrade                  # creates the PostgreSQL database if needed, then migrates
clearing entities add CN --currency CNY --name "China clearing entity" \
    --bank-code BKCHCNBJ --account 62170000100012345
clearing entities add RU --currency RUB --name "Russia clearing entity" \
    --bank-code 044525225 --account 30101810400000000225
# each prints the key, alone, once; only its hash is kept
ADMIN=$(clearing keys create --role admin --label tour)
OP_CN=$(clearing keys create --role operator --entity CN --label tour)
OP_RU=$(clearing keys create --role operator --entity RU --label tour)
AUDITOR=$(clearing keys create --role auditor --label tour)
declare -A OPERATOR=([CN]=$OP_CN [RU]=$OP_RU)

step "the server on $API"
clearing serve --host 127.0.0.1 --port "$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 150); do
  kill -0 "$SERVER" 2>/dev/null || { echo "the server stopped: see $OUT/server.log" >&2; exit 1; }
  curl -sf "$API/healthz" >/dev/null && break
  sleep 0.2
done
curl -sSf "$API/healthz"; echo

step "two traders on each side, each with its own key"
register() {  # register ENTITY NAME ACCOUNT BANK_CODE: the new participant's id
  api "$ADMIN" "$API/v1/participants" -d "$(jq -n --arg entity "$1" --arg name "$2" \
      --arg account "$3" --arg bank "$4" \
      '{entity: $entity, name: $name, bank_account: $account, bank_code: $bank}')" | jq -r .id
}
CN_SOY=$(register CN "Heihe Soy Trading" 6222021001000001 104100000004)         # exports soybeans
CN_WOOD=$(register CN "Harbin Wood Works" 6222021001000002 104100000004)        # imports timber
RU_TIMBER=$(register RU "Amur Timber" 40702810400000000225 044525593)           # exports timber
RU_FOODS=$(register RU "Blagoveshchensk Foods" 40702810400000000226 044525593)  # imports soybeans
T_CN_SOY=$(clearing keys create --role trader --participant "$CN_SOY")
T_CN_WOOD=$(clearing keys create --role trader --participant "$CN_WOOD")
T_RU_TIMBER=$(clearing keys create --role trader --participant "$RU_TIMBER")
T_RU_FOODS=$(clearing keys create --role trader --participant "$RU_FOODS")
echo "CN: $CN_SOY (soy), $CN_WOOD (wood); RU: $RU_TIMBER (timber), $RU_FOODS (foods)"

step "invoices both ways; each importer confirms by echoing the amount"
invoice() {  # invoice EXPORTER_KEY IMPORTER_KEY IMPORTER NUMBER CURRENCY AMOUNT HS DESCRIPTION
  local id
  id=$(api "$1" "$API/v1/invoices" -H "Idempotency-Key: invoice-$4" \
       -d "$(jq -n --arg number "$4" --arg importer "$3" --arg currency "$5" --arg amount "$6" \
             --arg hs "$7" --arg description "$8" \
             '{invoice_number: $number, importer_id: $importer, currency: $currency,
               amount: $amount, issue_date: "2026-11-02", due_date: "2026-12-31",
               hs_code: $hs, description: $description}')" | jq -r .id)
  api "$2" "$API/v1/invoices/$id/confirm" \
      -d "$(jq -n --arg currency "$5" --arg amount "$6" '{currency: $currency, amount: $amount}')" \
    | jq -r '"\(.invoice_number): \(.currency) \(.amount), \(.status)"'
}
# Russia exports timber worth 125,000.00 CNY; China exports soybeans worth 1,000,000.00 RUB,
# which the rates value at 78,100.00 CNY: 78,100.00 CNY flows back each way and nets, and
# 46,900.00 CNY of the timber is carried to the next cycle.
invoice "$T_RU_TIMBER" "$T_CN_WOOD" "$CN_WOOD" AT-001 CNY 125000.00 440311 "round timber"
invoice "$T_CN_SOY" "$T_RU_FOODS" "$RU_FOODS" HS-001 RUB 1000000.00 120190 "soybeans, 1,600 t"

step "a cycle: open, fix the rates, cut off"
CYCLE=$(api "$OP_CN" "$API/v1/cycles" -d '{"policy": "fifo"}' | jq -r .id)
api "$OP_CN" -X PUT "$API/v1/cycles/$CYCLE/rates" -d @examples/rates-2026-10.json \
  | jq -c '.rates.rates'
DIGEST=$(api "$OP_CN" -X POST "$API/v1/cycles/$CYCLE/close" | jq -r .digest)
api "$OP_CN" "$API/v1/cycles/$CYCLE" | jq -c '{status, digest, corridors, metrics:
  (.metrics | {submitted_value, settled_value, carried_value, netting_efficiency})}'

step "each entity's operator approves the digest it reviewed"
for entity in CN RU; do
  api "${OPERATOR[$entity]}" "$API/v1/cycles/$CYCLE/approve" -d "{\"digest\": \"$DIGEST\"}" \
    | jq -r --arg entity "$entity" '"\($entity) approved; the cycle is \(.status)"'
done

step "the positions: who pays in, who is paid, and the RF reference to quote"
# each participant makes or receives one domestic payment; an importer pays in
for entity in CN RU; do
  api "${OPERATOR[$entity]}" "$API/v1/cycles/$CYCLE/positions" | jq -r '.items[]
    | "\(.entity) \(.participant_id): pays in \(.pay_in), is paid \(.pay_out) \(.currency); "
      + "outstanding \(.outstanding_pay_in), reference \(.payment_reference)"'
done

step "China: the operator records the pay-in its bank received"
# exactly what is outstanding, read from the positions
api "$OP_CN" "$API/v1/cycles/$CYCLE/positions" \
  | jq -c '.items[] | select(.outstanding_pay_in | tonumber > 0)
           | {participant_id, currency, amount: .outstanding_pay_in,
              bank_reference: "BOC-\(.participant_id)"}' \
  | while read -r pay_in; do
      api "$OP_CN" "$API/v1/cycles/$CYCLE/pay-ins" -d "$pay_in" | jq -r '"cycle \(.status)"'
    done
# the pay-ins recorded, with bank reference, value date (today unless the body names
# "value_date"), and who recorded them when
api "$OP_CN" "$API/v1/cycles/$CYCLE/pay-ins" \
  | jq -r '.items[] | "\(.participant_id) \(.currency) \(.amount) \(.bank_reference)"'

step "Russia: the bank's statement records the pay-in"
# A credit quoting the payer's RF reference becomes its pay-in; a credit quoting nothing
# waits in suspense. Banks send camt.054 or camt.053 (application/xml); the same lines as CSV:
TODAY=$(date -u +%F)
{
  echo "entry_reference,direction,currency,amount,value_date,remittance"
  api "$OP_RU" "$API/v1/cycles/$CYCLE/positions" \
    | jq -r --arg today "$TODAY" '.items[] | select(.outstanding_pay_in | tonumber > 0)
             | "SBER-\(.participant_id),credit,\(.currency),\(.outstanding_pay_in),\($today),"
               + "payment \(.payment_reference)"'
  echo "SBER-0000000001,credit,RUB,5000.00,$TODAY,advance"
} >"$OUT/statement-RU.csv"
curl -sS --fail-with-body -H "Authorization: Bearer $OP_RU" -H 'Content-Type: text/csv' \
     --data-binary @"$OUT/statement-RU.csv" "$API/v1/bank-statements" \
  | jq -c '{entries, matched, unmatched, duplicates}'
# the operator sends the unexplained credit back (or assigns it to a pay-in due)
SUSPENSE=$(api "$OP_RU" "$API/v1/suspense" | jq -r '.items[0].id')
api "$OP_RU" "$API/v1/suspense/$SUSPENSE/return" -d '{"reason": "no invoice of ours"}' \
  | jq -r '"\(.currency) \(.amount) \(.status): return reference \(.return_reference)"'

step "the cycle has settled"
STATUS=$(api "$AUDITOR" "$API/v1/cycles/$CYCLE" | jq -r .status)
echo "cycle $CYCLE $STATUS"
[ "$STATUS" = settled ] || { echo "the cycle is $STATUS, not settled" >&2; exit 1; }

step "each entity's payment file for its bank (pain.001; ?format=csv for CSV)"
for entity in CN RU; do
  api "${OPERATOR[$entity]}" "$API/v1/cycles/$CYCLE/payments" >"$OUT/pain001-$entity.xml"
  echo "$entity: $(grep -c '<CdtTrfTxInf>' "$OUT/pain001-$entity.xml") transfer(s)," \
       "$(grep -o '<CtrlSum>[^<]*' "$OUT/pain001-$entity.xml" | head -1 | cut -c10-) in all:" \
       "$OUT/pain001-$entity.xml"
done

step "audit: the journal as JSON lines, re-checked by the server and offline"
api "$AUDITOR" "$API/v1/ledger/entries?after=0&limit=10000" >"$OUT/journal.jsonl"
VERIFIED=$(api "$AUDITOR" "$API/v1/audit/verify")
jq -c '{ok, entries, cycles, problems}' <<<"$VERIFIED"
jq -e .ok <<<"$VERIFIED" >/dev/null
clearing audit verify --from-file "$OUT/journal.jsonl"    # no database needed

step "tour complete"
