package export_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/export/lakeproof"
	"github.com/refx-dev/refx/pkg/export/localquery"
	"github.com/refx-dev/refx/pkg/refx"
)

// traffic is what MustTraffic sent: the ids of the events the API
// recorded (each once, whatever the duplicates and retries).
type traffic struct {
	recorded map[string]bool
	// dualCredit is an event credited to two experiments (cta and invite).
	dualCredit string
}

// MustTraffic drives the API and the store the way clients do: two running
// experiments (one a referral experiment), enrolments sent twice, events
// with values sent as singles and batches with client retries of the same
// ids, referral links, clicks (some repeated), signups (one refused as a
// self-referral), referee purchases credited to their referrers, an
// anonymous visitor identifying as an account, and a user in both
// experiments whose purchase is credited to each. It also
// writes what the exporter must not turn into rows (a user deletion of an
// event item) and two poison items it cannot decode.
func MustTraffic(t *testing.T, st *stack) traffic {
	t.Helper()
	ctx := t.Context()
	tr := traffic{recorded: map[string]bool{}}
	st.Call(t, http.MethodPost, "/v1/experiments", `{"id":"cta","name":"CTA","variants":[{"key":"control","weight":50},{"key":"bold","weight":50,"payload":{"reward":20}}],
		"control":"control","goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`, nil)
	st.Call(t, http.MethodPost, "/v1/experiments/cta/start", "", nil)
	st.Call(t, http.MethodPost, "/v1/experiments", `{"id":"invite","name":"Invite offer","variants":[{"key":"give10","weight":1},{"key":"give20","weight":1}],
		"goals":[{"key":"purchase","kind":"value"}],"referral":{"landing_url":"https://example.com/join","conversion_goal":"purchase"}}`, nil)
	st.Call(t, http.MethodPost, "/v1/experiments/invite/start", "", nil)
	// A later version of cta: the results use the experiment as it is now.
	var cta refx.Experiment
	st.Call(t, http.MethodGet, "/v1/experiments/cta", "", &cta)
	st.Call(t, http.MethodPatch, "/v1/experiments/cta", fmt.Sprintf(`{"version":%d,"hypothesis":"bolder converts"}`, cta.Version), nil)

	for u := range 24 {
		body := fmt.Sprintf(`{"experiment":"cta","user":"u%02d"}`, u)
		st.Call(t, http.MethodPost, "/v1/assign", body, nil)
		st.Call(t, http.MethodPost, "/v1/assign", body, nil) // sticky: no second enrolment
	}
	send := func(id int, typ, user, value string) {
		body := fmt.Sprintf(`{"id":%q,"type":%q,"user":%q`, lakefixture.EventID(id), typ, user)
		if value != "" {
			body += `,"value":` + value
		}
		body += "}"
		var res refx.EventResult
		st.Call(t, http.MethodPost, "/v1/events", body, &res)
		if res.Status == refx.EventRecorded {
			tr.recorded[lakefixture.EventID(id)] = true
		}
	}
	values := []string{"19.99", "0.0001", "1000000", "-5.5", "12", "0"}
	id := 0
	for u := range 24 {
		user := fmt.Sprintf("u%02d", u)
		if u%3 != 2 {
			id++
			send(id, "signup", user, "")
			send(id, "signup", user, "") // a client retry: duplicate
		}
		if u%4 == 0 {
			id++
			send(id, "signup", user, "") // a second signup: not a first conversion
		}
		for k := range u % 3 {
			id++
			send(id, "purchase", user, values[(u+k)%len(values)])
		}
	}
	// A batch, sent twice: the second answers duplicate for every event.
	var batch []string
	for i := range 10 {
		batch = append(batch, fmt.Sprintf(`{"id":%q,"type":"purchase","user":"u%02d","value":%d.25}`, lakefixture.EventID(1000+i), i, i))
	}
	for range 2 {
		var res struct {
			Results []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"results"`
		}
		st.Call(t, http.MethodPost, "/v1/events:batch", `{"events":[`+strings.Join(batch, ",")+`]}`, &res)
		for _, r := range res.Results {
			if r.Status == refx.EventRecorded {
				tr.recorded[r.ID] = true
			}
		}
	}
	// An anonymous visitor identifies: their assignment is copied to the
	// account (linked_from), the same participant, and the account's
	// events count for it.
	if _, err := st.Store.Identify(ctx, refx.Identity{Anonymous: "u03", User: "member-03"}); err != nil {
		t.Fatal(err)
	}
	send(1500, "signup", "member-03", "")
	send(1501, "purchase", "member-03", "42.4242")
	// Events of users in no experiment: exported, credited nowhere.
	for i := range 3 {
		send(2000+i, "page_view", fmt.Sprintf("visitor-%d", i), "")
	}

	// The referral program: links, clicks, signups, referee purchases.
	for r := range 4 {
		referrer := fmt.Sprintf("ref%d", r)
		link, err := st.Store.CreateReferral(ctx, "invite", referrer)
		if err != nil {
			t.Fatal(err)
		}
		for v := range r {
			visitor := fmt.Sprintf("visitor-%d-%d-abcdefghijkl", r, v)
			for range 2 { // a repeated click counts once
				if _, err := st.Store.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor, IPHash: fmt.Sprint("ip", r, v)}); err != nil {
					t.Fatal(err)
				}
			}
			referee := fmt.Sprintf("friend-%d-%d", r, v)
			if _, err := st.Store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, Visitor: visitor}); err != nil {
				t.Fatal(err)
			}
			id++
			send(3000+id, "purchase", referee, values[v%len(values)])
		}
		if r == 3 {
			if _, err := st.Store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referrer}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A user in both experiments: one purchase, two credits (one per
	// experiment) from one stream record, which the dedupe of
	// event_credits_unique must keep apart.
	st.Call(t, http.MethodPost, "/v1/assign", `{"experiment":"invite","user":"u05"}`, nil)
	tr.dualCredit = lakefixture.EventID(6000)
	var dual refx.EventResult
	st.Call(t, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":%q,"type":"purchase","user":"u05","value":7.5}`, tr.dualCredit), &dual)
	if dual.Status != refx.EventRecorded {
		t.Fatalf("the purchase credited to two experiments: %+v", dual)
	}
	tr.recorded[tr.dualCredit] = true
	var credited []string
	for _, c := range dual.Credits {
		if c.Referrer == "" {
			credited = append(credited, c.Experiment)
		}
	}
	if slices.Sort(credited); !slices.Equal(credited, []string{"cta", "invite"}) {
		t.Fatalf("u05's purchase is credited to %v, want cta and invite", credited)
	}

	// A deletion by a request is no business event either.
	id++
	send(4000, "signup", "deleted-user", "")
	if _, err := st.DDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.Table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "EVENT#" + lakefixture.EventID(4000)}, "sk": &types.AttributeValueMemberS{Value: "EVENT"},
	}}); err != nil {
		t.Fatal(err)
	}
	// Poison: an event whose value is no decimal, an entity nobody decodes.
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, item := range []map[string]types.AttributeValue{
		{"pk": s("EVENT#poison"), "sk": s("EVENT"), "entity": s("event"), "id": s("poison"), "type": s("signup"),
			"user": s("u00"), "value": s("twelve"), "occurred_at": s(now), "received_at": s(now)},
		{"pk": s("MYSTERY#1"), "sk": s("MYSTERY"), "entity": s("mystery")},
	} {
		if _, err := st.DDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	// More events after the poison, in the same stream batches.
	for i := range 3 {
		send(5000+i, "signup", fmt.Sprintf("u%02d", 20+i), "")
	}
	return tr
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// TestExportEndToEnd sends traffic through the API, runs the stream poller
// to the end of DynamoDB Local's stream and checks what landed in the local
// S3: Parquet rows equal to the unique events, poison records in
// export_errors with the rest exported, the Athena recompute query equal to
// the results API, and replays that duplicate nothing in query results.
func TestExportEndToEnd(t *testing.T) {
	st := MustStack(t, stackOptions{})
	tr := MustTraffic(t, st)
	if n := st.Drain(t); n == 0 {
		t.Fatal("the poller read no record")
	}

	t.Run("EventsEqualUniqueEvents", func(t *testing.T) {
		rows := readRows[export.EventRow](t, st, export.Events)
		got := map[string]int{}
		for _, r := range rows {
			got[r.EventID]++
		}
		for id, n := range got {
			if n != 1 {
				t.Errorf("event %s exported %d times", id, n)
			}
			if !tr.recorded[id] {
				t.Errorf("event %s exported but never recorded", id)
			}
		}
		for id := range tr.recorded {
			if got[id] == 0 && id != lakefixture.EventID(4000) {
				t.Errorf("recorded event %s not exported", id)
			}
		}
		if len(rows) != len(tr.recorded) {
			t.Errorf("%d rows for %d recorded events", len(rows), len(tr.recorded))
		}
	})

	t.Run("LinkedAssignment", func(t *testing.T) {
		var linked []export.AssignmentRow
		for _, r := range readRows[export.AssignmentRow](t, st, export.Assignments) {
			if r.LinkedFrom != nil {
				linked = append(linked, r)
			}
		}
		if len(linked) != 1 || linked[0].UserID != "member-03" || *linked[0].LinkedFrom != "u03" {
			t.Fatalf("linked assignments %+v", linked)
		}
	})

	t.Run("PoisonInErrors", func(t *testing.T) {
		rows := readRows[export.ErrorRow](t, st, export.Errors)
		reasons := map[string]string{}
		for _, r := range rows {
			reasons[r.PK] = r.Reason
			if r.Record == "" || r.SequenceNumber == "" {
				t.Errorf("error row without its record: %+v", r)
			}
		}
		if len(rows) != 2 || !strings.Contains(reasons["EVENT#poison"], `"twelve"`) || !strings.Contains(reasons["MYSTERY#1"], `no decoder for entity "mystery"`) {
			t.Fatalf("export_errors = %v", reasons)
		}
	})

	t.Run("CreditedToTwoExperiments", func(t *testing.T) {
		assertCredits(t, st.MustQueryDB(t), tr.dualCredit, 1, map[string]int64{"cta": 1, "invite": 1})
	})

	t.Run("RecomputeEqualsResultsAPI", func(t *testing.T) {
		db := st.MustQueryDB(t)
		for _, id := range []string{"cta", "invite"} {
			assertResultsMatch(t, db, st.results(t, id))
		}
		assertReferralsCounted(t, st.results(t, "invite"))
	})

	t.Run("EveryQueryRuns", func(t *testing.T) {
		db := st.MustQueryDB(t)
		files, _ := filepath.Glob(filepath.Join(athenaDir, "queries", "*.sql"))
		if len(files) < 4 {
			t.Fatalf("queries: %v", files)
		}
		for _, f := range files {
			res, err := db.QueryFile(t.Context(), f)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
				continue
			}
			if len(res.Rows) == 0 {
				t.Errorf("%s: no rows", filepath.Base(f))
			}
		}
	})

	t.Run("ReplayOverwrites", func(t *testing.T) {
		before := st.Objects(t)
		batches := st.Batches()
		for _, b := range batches {
			resp, err := st.Exporter.Handle(t.Context(), b)
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("replay: %v %+v", err, resp)
			}
		}
		if after := st.Objects(t); !maps.Equal(before, after) {
			t.Fatalf("a replay changed the bucket: %d objects before, %d after", len(before), len(after))
		}
		if rows := readRows[export.EventRow](t, st, export.Events); len(rows) != len(tr.recorded) {
			t.Fatalf("after replay: %d event rows for %d events", len(rows), len(tr.recorded))
		}
	})

	t.Run("SplitReplayDedupedByViews", func(t *testing.T) {
		// Lambda bisects a failing batch, and resumes after a partial
		// failure from the failed record: different first/last sequence
		// numbers, new keys, copies of rows already written.
		batches := st.Batches()
		for _, b := range batches {
			for _, half := range [][]events.DynamoDBEventRecord{b.Records[:len(b.Records)/2], b.Records[len(b.Records)/2:]} {
				if len(half) == 0 {
					continue
				}
				if _, err := st.Exporter.Handle(t.Context(), events.DynamoDBEvent{Records: half}); err != nil {
					t.Fatal(err)
				}
			}
		}
		db := st.MustQueryDB(t)
		raw := scalar(t, db, "SELECT count(*) FROM events")
		unique := scalar(t, db, "SELECT count(*) FROM events_unique")
		distinct := scalar(t, db, "SELECT count(DISTINCT event_id) FROM events_unique")
		if raw <= int64(len(tr.recorded)) || unique != int64(len(tr.recorded)) || distinct != unique {
			t.Fatalf("events: %d raw rows, %d unique (%d distinct ids), want %d unique", raw, unique, distinct, len(tr.recorded))
		}
		for _, id := range []string{"cta", "invite"} {
			assertResultsMatch(t, db, st.results(t, id))
		}
		assertReferralsCounted(t, st.results(t, "invite"))
		assertCredits(t, db, tr.dualCredit, 1, map[string]int64{"cta": 1, "invite": 1})
	})
}

// TestExportIDReusedAfterTTL: an event id is an idempotency key for the
// idempotency window only. Once DynamoDB's TTL has deleted the event item,
// the same id is a new event, which the API records and counts again; the
// views must keep both (they tell copies of one stream record from a
// reused id by received_at), or the recompute falls short of the API.
func TestExportIDReusedAfterTTL(t *testing.T) {
	st := MustStack(t, stackOptions{})
	ctx := t.Context()
	st.Call(t, http.MethodPost, "/v1/experiments", `{"id":"reuse","name":"Reuse","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],
		"goals":[{"key":"purchase","kind":"value"}]}`, nil)
	st.Call(t, http.MethodPost, "/v1/experiments/reuse/start", "", nil)
	for _, u := range []string{"r1", "r2"} {
		st.Call(t, http.MethodPost, "/v1/assign", fmt.Sprintf(`{"experiment":"reuse","user":%q}`, u), nil)
	}
	id := lakefixture.EventID(7000)
	send := func(user, value string) {
		t.Helper()
		var res refx.EventResult
		st.Call(t, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":%q,"type":"purchase","user":%q,"value":%s}`, id, user, value), &res)
		if res.Status != refx.EventRecorded || len(res.Credits) != 1 {
			t.Fatalf("event %s for %s: %+v, want recorded with one credit", id, user, res)
		}
	}
	key := map[string]types.AttributeValue{"pk": s("EVENT#" + id), "sk": s("EVENT")}
	receivedAt := func() time.Time {
		t.Helper()
		out, err := st.DDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		v, ok := out.Item["received_at"].(*types.AttributeValueMemberS)
		if !ok {
			t.Fatalf("event item %v has no received_at", out.Item)
		}
		at, err := time.Parse(time.RFC3339Nano, v.Value)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}

	send("r1", "10")
	first := receivedAt()
	// What the TTL does once the idempotency window is over: delete the
	// event item (DynamoDB Local runs no TTL; in AWS the stream record of
	// the deletion names the dynamodb.amazonaws.com principal, and the
	// exporter skips it like this one).
	if _, err := st.DDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.Table), Key: key}); err != nil {
		t.Fatal(err)
	}
	// The export keeps received_at to the millisecond: the second event
	// must be received in a later one, as it is days later in AWS.
	for time.Now().Truncate(time.Millisecond).Compare(first.Truncate(time.Millisecond)) <= 0 {
		time.Sleep(time.Millisecond)
	}
	send("r2", "2.5") // the same id, now another user's purchase
	if second := receivedAt(); !second.Truncate(time.Millisecond).After(first.Truncate(time.Millisecond)) {
		t.Fatalf("received at %v, then %v: not apart", first, second)
	}
	st.Drain(t)

	check := func(t *testing.T, db *localquery.DB) {
		t.Helper()
		if n := scalar(t, db, "SELECT count(*) FROM events_unique WHERE event_id = '"+id+"'"); n != 2 {
			t.Errorf("events_unique: %d rows for the reused id, want 2 (one per reception)", n)
		}
		if n := scalar(t, db, "SELECT count(DISTINCT user_id) FROM events_unique WHERE event_id = '"+id+"'"); n != 2 {
			t.Errorf("events_unique: %d users for the reused id, want 2", n)
		}
		assertCredits(t, db, id, 2, map[string]int64{"reuse": 2})
		assertResultsMatch(t, db, st.results(t, "reuse"))
	}
	t.Run("Views", func(t *testing.T) { check(t, st.MustQueryDB(t)) })
	t.Run("AfterSplitReplay", func(t *testing.T) {
		// Copies of both records too: the views drop the copies only.
		batches := st.Batches()
		for _, b := range batches {
			for _, r := range b.Records {
				if _, err := st.Exporter.Handle(t.Context(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{r}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		db := st.MustQueryDB(t)
		if raw := scalar(t, db, "SELECT count(*) FROM events WHERE event_id = '"+id+"'"); raw < 4 {
			t.Fatalf("events: %d raw rows for the reused id after the replay, want copies", raw)
		}
		check(t, db)
	})
}

// assertCredits checks the user's own credits (referrer IS NULL) of one
// event id in event_credits_unique: receptions rows per experiment in
// perExperiment, no other.
func assertCredits(t *testing.T, db *localquery.DB, id string, receptions int64, perExperiment map[string]int64) {
	t.Helper()
	res, err := db.Query(t.Context(), "SELECT experiment, count(*) AS n, count(DISTINCT received_at) AS receptions FROM event_credits_unique "+
		"WHERE event_id = '"+id+"' AND referrer IS NULL GROUP BY experiment ORDER BY experiment")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range res.Maps() {
		exp := r["experiment"].(string)
		got[exp] = toInt(t, r["n"])
		if n := toInt(t, r["receptions"]); n != receptions {
			t.Errorf("event_credits_unique: event %s in %s received %d times, want %d", id, exp, n, receptions)
		}
	}
	if !maps.Equal(got, perExperiment) {
		t.Errorf("event_credits_unique: event %s credited %v (rows per experiment), want %v", id, got, perExperiment)
	}
}

func scalar(t *testing.T, db *localquery.DB, q string) int64 {
	t.Helper()
	res, err := db.Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return toInt(t, res.Rows[0][0])
}

func toInt(t *testing.T, v any) int64 {
	t.Helper()
	switch v := v.(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case *big.Int:
		return v.Int64()
	case *big.Rat:
		return v.Num().Int64()
	}
	t.Fatalf("not an integer: %T %v", v, v)
	return 0
}

func toRat(t *testing.T, v any) *big.Rat {
	t.Helper()
	switch v := v.(type) {
	case *big.Rat:
		return v
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			t.Fatalf("not a decimal: %q", v)
		}
		return r
	}
	return new(big.Rat).SetInt64(toInt(t, v))
}

// assertResultsMatch checks experiment_results.sql, and referral_funnel.sql
// for a referral experiment, against the API's results (of the phase they
// report) with lakeproof.Compare: every variant and goal, every funnel
// count, decimals exactly.
func assertResultsMatch(t *testing.T, db *localquery.DB, api *refx.Results) {
	t.Helper()
	c, err := lakeproof.Compare(t.Context(), db, athenaDir, api)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Mismatches {
		t.Errorf("%s %s", api.Experiment, m)
	}
	if c.Rows == 0 {
		t.Errorf("%s: the API's results have no variant goal to compare", api.Experiment)
	}
	if testing.Verbose() {
		b, _ := json.Marshal(api)
		t.Logf("API results: %s", b)
	}
}

// assertReferralsCounted fails unless the API counted some referral
// activity, so that comparing the funnel to it proves something.
func assertReferralsCounted(t *testing.T, api *refx.Results) {
	t.Helper()
	for _, v := range api.Variants {
		if c := v.Referral; c != nil && c.Referrers+c.Clicks+c.Signups+c.Conversions > 0 {
			return
		}
	}
	t.Errorf("%s: the referral traffic counted nothing", api.Experiment)
}
