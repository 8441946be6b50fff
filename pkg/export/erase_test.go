package export_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/export/localquery"
	"github.com/refx-dev/refx/pkg/export/purge"
	"github.com/refx-dev/refx/pkg/refx"
)

// gone is the user erased end to end; bystanders' rows must stay.
const gone = "gone-user-41c9"

// mustRunning creates and starts an experiment through the store.
func mustRunning(t *testing.T, st *stack, body string) *refx.Experiment {
	t.Helper()
	var n refx.NewExperiment
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		t.Fatal(err)
	}
	e, err := n.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.CreateExperiment(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if e, err = st.Store.SetStatus(t.Context(), e.ID, refx.StatusRunning); err != nil {
		t.Fatal(err)
	}
	return e
}

// viewRows counts, per *_unique view, the rows naming id in any column
// that holds a user id, and the rows in all.
func viewRows(t *testing.T, db *localquery.DB, id string) (naming, all map[string]int64) {
	t.Helper()
	naming, all = map[string]int64{}, map[string]int64{}
	for view, cols := range map[string][]string{
		"events_unique":          {"user_id"},
		"event_credits_unique":   {"user_id", "referrer"},
		"assignments_unique":     {"user_id", "linked_from"},
		"referrals_unique":       {"referrer"},
		"referral_clicks_unique": {"visitor"},
		"attributions_unique":    {"referee", "referrer"},
	} {
		where := ""
		for i, c := range cols {
			if i > 0 {
				where += " OR "
			}
			where += fmt.Sprintf("%s = '%s'", c, id)
		}
		naming[view] = scalar(t, db, "SELECT count(*) FROM "+view+" WHERE "+where)
		all[view] = scalar(t, db, "SELECT count(*) FROM "+view)
	}
	return naming, all
}

// rawNaming counts the rows of the raw tables (the files) naming id.
func rawNaming(t *testing.T, db *localquery.DB, id string) int64 {
	t.Helper()
	q := fmt.Sprintf(`SELECT (SELECT count(*) FROM events WHERE user_id = '%[1]s')
		+ (SELECT count(*) FROM event_credits WHERE user_id = '%[1]s' OR referrer = '%[1]s')
		+ (SELECT count(*) FROM assignments WHERE user_id = '%[1]s' OR linked_from = '%[1]s')
		+ (SELECT count(*) FROM referrals WHERE referrer = '%[1]s')
		+ (SELECT count(*) FROM referral_clicks WHERE visitor = '%[1]s')
		+ (SELECT count(*) FROM attributions WHERE referee = '%[1]s' OR referrer = '%[1]s')`, id)
	return scalar(t, db, q)
}

// TestEraseEndToEnd erases a user who enrolled, sent events, referred a
// friend (who converted), signed up through someone else's code from a
// clicked visitor id, and identified from an anonymous id; then runs the
// export over the stream. The erasure row is written by hash; the views
// show no row of the user (their referrer mentions read "erased") while
// the raw files still hold them; the purge job rewrites the files so that
// no row names the user, and the views answer the same after it.
func TestEraseEndToEnd(t *testing.T) {
	st := MustStack(t, stackOptions{})
	ctx := t.Context()
	plain := mustRunning(t, st, `{"id":"gdpr","name":"GDPR","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],
		"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`)
	ref := mustRunning(t, st, `{"id":"gdpr-ref","name":"Invite","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],
		"goals":[{"key":"purchase","kind":"value"}],"referral":{"landing_url":"https://example.com/join","conversion_goal":"purchase"}}`)
	n := 8000
	event := func(user, typ string) {
		t.Helper()
		n++
		v, err := refx.ParseDecimal("9.5")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Store.RecordEvent(ctx, &refx.Event{ID: lakefixture.EventID(n), Type: typ, User: user, Value: &v}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"anon-" + gone, "bystander"} {
		if _, err := st.Store.Assign(ctx, plain.ID, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Store.Identify(ctx, refx.Identity{Anonymous: "anon-" + gone, User: gone}); err != nil {
		t.Fatal(err)
	}
	event(gone, "signup")
	event(gone, "purchase")
	event("bystander", "purchase")
	link, err := st.Store.CreateReferral(ctx, ref.ID, gone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: "friend", IPHash: "ip-1"}); err != nil {
		t.Fatal(err)
	}
	event("friend", "purchase")
	other, err := st.Store.CreateReferral(ctx, ref.ID, "other-referrer")
	if err != nil {
		t.Fatal(err)
	}
	visitor := "visitor-" + gone
	if _, err := st.Store.RecordClick(ctx, refx.Click{Code: other.Code, Visitor: visitor, IPHash: "ip-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Attribute(ctx, refx.Signup{Code: other.Code, Referee: gone, Visitor: visitor, IPHash: "ip-2"}); err != nil {
		t.Fatal(err)
	}
	st.Drain(t)
	db := st.MustQueryDB(t)
	if n := rawNaming(t, db, gone); n < 8 {
		t.Fatalf("the traffic exported %d rows naming the user", n)
	}
	_, before := viewRows(t, db, gone)

	erasure, err := st.Store.EraseUser(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	st.Drain(t)

	t.Run("ErasureRowsByHash", func(t *testing.T) {
		got := map[string]bool{}
		for _, r := range readRows[export.ErasureRow](t, st, export.Erasures) {
			got[r.UserHash] = true
			if r.ErasedAt.IsZero() || r.StreamedAt.IsZero() {
				t.Errorf("erasure row without times: %+v", r)
			}
		}
		want := map[string]bool{erasure.UserHash: true, refx.ErasureHash(visitor): true}
		if !maps.Equal(got, want) {
			t.Fatalf("erasure rows for %v, want the user's and the visitor's hashes %v", got, want)
		}
	})
	t.Run("RemovalsExportNothing", func(t *testing.T) {
		// The erasure's REMOVE records carry the user's data in their old
		// images: none may become a row (or an export error).
		db := st.MustQueryDB(t)
		if n := scalar(t, db, "SELECT count(*) FROM export_errors"); n != 0 {
			t.Fatalf("%d export errors", n)
		}
		if n := scalar(t, db, "SELECT count(*) FROM events WHERE user_id = '"+gone+"'"); n != 2 {
			t.Fatalf("%d event rows of the user, want the 2 exported before the erasure", n)
		}
	})
	var viewsAfter map[string]int64
	t.Run("ViewsExclude", func(t *testing.T) {
		db := st.MustQueryDB(t)
		for _, id := range []string{gone, visitor, "anon-" + gone} {
			naming, _ := viewRows(t, db, id)
			for view, n := range naming {
				if n != 0 && !(id == "anon-"+gone && view == "assignments_unique") {
					t.Errorf("%s: %d rows naming %s", view, n, id)
				}
			}
		}
		naming, all := viewRows(t, db, refx.ErasedName)
		if naming["event_credits_unique"] != 1 || naming["attributions_unique"] != 1 {
			t.Errorf("the friend's credit and attribution should name %q as referrer: %v", refx.ErasedName, naming)
		}
		if naming, _ := viewRows(t, db, "bystander"); naming["events_unique"] != 1 || naming["assignments_unique"] != 1 {
			t.Errorf("bystander's rows: %v", naming)
		}
		if all["events_unique"] != before["events_unique"]-2 {
			t.Errorf("events_unique: %d rows after, %d before: want the user's 2 gone", all["events_unique"], before["events_unique"])
		}
		viewsAfter = all
		if raw := rawNaming(t, db, gone); raw == 0 {
			t.Fatal("the raw files no longer name the user before the purge")
		}
	})
	t.Run("PurgeRewritesFiles", func(t *testing.T) {
		rep, err := purge.Run(ctx, purge.Config{S3: st.S3C, Bucket: st.S3.Bucket()})
		if err != nil {
			t.Fatal(err)
		}
		if rep.ErasedIDs != 2 || rep.Dropped < 8 || rep.Replaced != 2 || rep.Rewritten+rep.Deleted == 0 {
			t.Fatalf("purge: %+v", rep)
		}
		db := st.MustQueryDB(t)
		if raw := rawNaming(t, db, gone) + rawNaming(t, db, visitor); raw != 0 {
			t.Fatalf("%d rows in the files still name the user after the purge", raw)
		}
		if _, all := viewRows(t, db, gone); !maps.Equal(all, viewsAfter) {
			t.Fatalf("views after the purge %v, before it %v", all, viewsAfter)
		}
		again, err := purge.Run(ctx, purge.Config{S3: st.S3C, Bucket: st.S3.Bucket()})
		if err != nil || again.Rewritten+again.Deleted+again.Dropped+again.Replaced != 0 {
			t.Fatalf("a second purge: %+v, %v", again, err)
		}
	})
}
