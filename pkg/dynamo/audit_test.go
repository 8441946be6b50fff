package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

var alice = refx.Actor{ID: "admin:k1", Name: "alice", Role: refx.RoleEditor}

// MustAudit reads every audit entry of one resource, newest first.
func MustAudit(tb testing.TB, s *dynamo.Store, resource refx.AuditResource, id string) []*refx.AuditEntry {
	tb.Helper()
	var all []*refx.AuditEntry
	for cursor := ""; ; {
		page, err := s.Audit(context.Background(), refx.AuditFilter{Resource: resource, ResourceID: id, Limit: 2, Cursor: cursor})
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, page.Entries...)
		if cursor = page.Next; cursor == "" {
			return all
		}
	}
}

// auditVersions is an entry's before and after versions (0 when absent).
func auditVersions(tb testing.TB, e *refx.AuditEntry) (before, after int64) {
	tb.Helper()
	var b, a struct{ Version int64 }
	if err := json.Unmarshal(e.Before, &b); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(e.After, &a); err != nil {
		tb.Fatal(err)
	}
	return b.Version, a.Version
}

// TestExperimentAudit writes an experiment through its life and reads the
// one entry each write left, newest first, by its actor.
func TestExperimentAudit(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), alice)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := MustStore(t, dynamo.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	e, err := newExperiment("audited").Build(clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateExperiment(ctx, e), refx.ECONFLICT)
	name := "renamed"
	if _, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: 1, Name: &name}); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: 1, Name: &name})
	wantCode(t, err, refx.ECONFLICT)
	for _, to := range []refx.Status{refx.StatusRunning, refx.StatusRunning, refx.StatusStopped} {
		if _, err := s.SetStatus(ctx, e.ID, to); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteExperiment(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExperiment(ctx, e.ID); refx.ErrorCode(err) != refx.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}

	got := MustAudit(t, s, refx.AuditExperiment, e.ID)
	want := []struct {
		action        string
		before, after int64
	}{{"delete", 4, 0}, {"stop", 3, 4}, {"start", 2, 3}, {"update", 1, 2}, {"create", 0, 1}}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d (a refused or repeated write left one?)", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		before, after := auditVersions(t, g)
		if g.Action != w.action || before != w.before || after != w.after || g.Actor != alice || g.Resource != refx.AuditExperiment || g.ResourceID != e.ID {
			t.Errorf("entry %d: %s by %+v, versions %d→%d; want %s, %d→%d", i, g.Action, g.Actor, before, after, w.action, w.before, w.after)
		}
	}
	if !got[0].At.After(got[1].At) {
		t.Errorf("newest first: %v then %v", got[0].At, got[1].At)
	}

	t.Run("System", func(t *testing.T) {
		other, _ := newExperiment("by-system").Build(clock)
		if err := s.CreateExperiment(context.Background(), other); err != nil {
			t.Fatal(err)
		}
		got := MustAudit(t, s, refx.AuditExperiment, other.ID)
		if len(got) != 1 || got[0].Actor != refx.SystemActor {
			t.Fatalf("entries %+v, want one by the system", got)
		}
	})
}

// TestExperimentAuditLostResponse loses the response of the first
// transaction after DynamoDB applied it: the SDK sends the same write
// again, which is answered as done, and the write has one entry.
func TestExperimentAuditLostResponse(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), alice)
	direct := MustStore(t, dynamo.Options{})
	target, err := url.Parse(dynamotest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	var lose atomic.Bool
	var lost atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") && lose.CompareAndSwap(true, false) {
			lost.Add(1)
			forward.ServeHTTP(httptest.NewRecorder(), r)
			writeAWSError(w, http.StatusInternalServerError, "InternalServerError", nil)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	client, err := dynamo.NewClient(context.Background(), dynamo.ClientConfig{Endpoint: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := dynamo.New(client, direct.Table(), dynamo.Options{})
	e, _ := newExperiment("lossy").Build(time.Now())
	for _, write := range []struct {
		name string
		do   func() error
	}{
		{"create", func() error { return s.CreateExperiment(ctx, e) }},
		{"update", func() error {
			name := "renamed"
			_, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: 1, Name: &name})
			return err
		}},
		{"start", func() error { _, err := s.SetStatus(ctx, e.ID, refx.StatusRunning); return err }},
		{"stop", func() error { _, err := s.SetStatus(ctx, e.ID, refx.StatusStopped); return err }},
		{"delete", func() error { return s.DeleteExperiment(ctx, e.ID) }},
	} {
		lose.Store(true)
		if err := write.do(); err != nil {
			t.Fatalf("%s: %v", write.name, err)
		}
	}
	if lost.Load() != 5 {
		t.Fatalf("lost %d responses, want 5", lost.Load())
	}
	var actions []string
	for _, entry := range MustAudit(t, direct, refx.AuditExperiment, e.ID) {
		actions = append(actions, entry.Action)
	}
	if strings.Join(actions, " ") != "delete stop start update create" {
		t.Fatalf("entries %v, want one per write", actions)
	}
}

// TestExperimentAuditConcurrentUpdates sends updates of one version at
// once: one is stored, the others are ECONFLICT, and only the stored one
// has an entry.
func TestExperimentAuditConcurrentUpdates(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), alice)
	s := MustStore(t, dynamo.Options{})
	e, _ := newExperiment("raced").Build(time.Now())
	if err := s.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var ok, conflicts atomic.Int64
	for i := range n {
		wg.Go(func() {
			name := strings.Repeat("x", i+1)
			_, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: 1, Name: &name})
			switch refx.ErrorCode(err) {
			case "":
				ok.Add(1)
			case refx.ECONFLICT:
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := MustAudit(t, s, refx.AuditExperiment, e.ID)
	if ok.Load() != 1 || conflicts.Load() != n-1 || len(got) != 2 || got[0].Action != "update" {
		t.Fatalf("%d stored, %d conflicts, %d entries; want 1, %d, 2", ok.Load(), conflicts.Load(), len(got), n-1)
	}
	stored, _ := s.Experiment(ctx, e.ID)
	var after refx.Experiment
	if err := json.Unmarshal(got[0].After, &after); err != nil || after.Name != stored.Name {
		t.Fatalf("entry's after names %q, the stored experiment %q", after.Name, stored.Name)
	}
}

// TestExperimentAuditLargest updates the largest valid experiment into
// another of that size: the entry, holding both, still fits an item, and
// the listing of such entries fits an answer.
func TestExperimentAuditLargest(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), alice)
	s := MustStore(t, dynamo.Options{})
	e := largestExperiment(t, "big")
	if err := s.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	for v := int64(1); v <= 6; v++ {
		name := strings.Repeat(">", refx.MaxTextLen-int(v))
		if _, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: v, Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	for cursor := ""; ; {
		page, err := s.Audit(ctx, refx.AuditFilter{Resource: refx.AuditExperiment, Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(page)
		if len(body) > refx.MaxPageBytes || len(page.Entries) == 0 {
			t.Fatalf("page of %d entries, %d bytes of JSON (bound %d)", len(page.Entries), len(body), refx.MaxPageBytes)
		}
		if seen == 0 {
			e := page.Entries[0]
			t.Logf("an entry of the largest experiment: %d + %d bytes of JSON before and after (as the API escapes it: %d)", len(e.Before), len(e.After), len(body)/len(page.Entries))
		}
		seen += len(page.Entries)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if seen != 7 {
		t.Fatalf("read %d entries, want 7", seen)
	}
}

// TestFlagAudit changes flags and segments, refused changes among them,
// and imports the most flags one import may change while every environment
// has a payload: the transaction, with its one entry, still fits
// DynamoDB's 100 items.
func TestFlagAudit(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), alice)
	s := MustStore(t, dynamo.Options{})
	seg, err := refx.NewSegment{Key: "beta", Condition: json.RawMessage(`{"beta": true}`)}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// dev and production are every flag's; six more make the most.
	envs := []string{`"dev":{"enabled":true}`, `"production":{"enabled":true}`}
	for i := 2; i < refx.MaxEnvironments; i++ {
		envs = append(envs, fmt.Sprintf(`"env%d":{"enabled":true}`, i))
	}
	wide := MustFlag(t, `{"key":"wide","kind":"release","value_type":"boolean","default_value":false,"environments":{`+strings.Join(envs, ",")+`}}`)
	features := map[string]refx.GrowthBookFeature{}
	for i := range refx.MaxImportFlags {
		features[fmt.Sprintf("imported-%02d", i)] = refx.GrowthBookFeature{DefaultValue: json.RawMessage(`true`)}
	}
	tooMany := map[string]refx.GrowthBookFeature{"one-more": {DefaultValue: json.RawMessage(`1`)}}
	for k, v := range features {
		tooMany[k+"-x"] = v
	}
	owner := "growth"
	for _, step := range []struct {
		name string
		do   func() error
		code string
	}{
		{"CreateSegment", func() error { return s.CreateSegment(ctx, seg) }, ""},
		{"ErrSegmentExists", func() error { return s.CreateSegment(ctx, seg) }, refx.ECONFLICT},
		{"CreateFlag", func() error { return s.CreateFlag(ctx, wide) }, ""},
		{"UpdateFlag", func() error {
			_, err := s.UpdateFlag(ctx, "wide", refx.FlagPatch{Version: 1, Owner: &owner})
			return err
		}, ""},
		{"ErrStale", func() error {
			_, err := s.UpdateFlag(ctx, "wide", refx.FlagPatch{Version: 1, Owner: &owner})
			return err
		}, refx.ECONFLICT},
		{"UpdateSegment", func() error {
			_, err := s.UpdateSegment(ctx, "beta", refx.SegmentPatch{Version: 1, Condition: json.RawMessage(`{"beta": false}`)})
			return err
		}, ""},
		{"ImportMost", func() error {
			_, err := s.ImportFlags(ctx, refx.GrowthBookPayload{Features: features}, "env2")
			return err
		}, ""},
		{"ImportUnchanged", func() error {
			_, err := s.ImportFlags(ctx, refx.GrowthBookPayload{Features: features}, "env2")
			return err
		}, ""},
		{"ErrImportTooMany", func() error {
			_, err := s.ImportFlags(ctx, refx.GrowthBookPayload{Features: tooMany}, "env2")
			return err
		}, refx.ELIMIT},
		{"DeleteFlag", func() error { return s.DeleteFlag(ctx, "wide") }, ""},
		{"DeleteSegment", func() error { return s.DeleteSegment(ctx, "beta") }, ""},
	} {
		wantCode(t, step.do(), step.code)
	}

	actions := func(resource refx.AuditResource, id string) string {
		var out []string
		for _, e := range MustAudit(t, s, resource, id) {
			if e.Actor != alice {
				t.Errorf("%s of %s:%s by %+v", e.Action, resource, id, e.Actor)
			}
			out = append(out, e.Action)
		}
		return strings.Join(out, " ")
	}
	if got := actions(refx.AuditFlag, "wide"); got != "delete update create" {
		t.Errorf("flag entries: %s", got)
	}
	if got := actions(refx.AuditSegment, "beta"); got != "delete update create" {
		t.Errorf("segment entries: %s", got)
	}
	imports := MustAudit(t, s, refx.AuditFlag, "import:env2")
	if len(imports) != 1 {
		t.Fatalf("%d import entries, want 1 (an unchanged import records nothing)", len(imports))
	}
	var after struct {
		Created  []string
		Versions map[string]int64
	}
	if err := json.Unmarshal(imports[0].After, &after); err != nil || len(after.Created) != refx.MaxImportFlags || after.Versions["imported-07"] != 1 {
		t.Fatalf("import entry's after: %s", imports[0].After)
	}
	var deleted refx.Flag
	if entries := MustAudit(t, s, refx.AuditFlag, "wide"); json.Unmarshal(entries[0].Before, &deleted) != nil || deleted.Owner != owner || string(entries[0].After) != "null" {
		t.Errorf("delete entry: before %s, after %s", entries[0].Before, entries[0].After)
	}
}

// TestLamedAudit: a Lamed experiment created by a tracking call is the
// system's doing, whatever the call's credential; its delete is the
// caller's.
func TestLamedAudit(t *testing.T) {
	t.Parallel()
	tracker := refx.WithActor(context.Background(), refx.Actor{ID: "secret:k9", Name: "site"})
	s := MustStore(t, dynamo.Options{})
	if err := s.LamedTrack(tracker, refx.LamedTrack{Namespace: "alephbet", Experiment: "Button Color", Variant: "red", Event: "participate", UUID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.LamedTrack(tracker, refx.LamedTrack{Namespace: "alephbet", Experiment: "Button Color", Variant: "blue", Event: "participate", UUID: "u2"}); err != nil {
		t.Fatal(err)
	}
	owner := refx.WithActor(context.Background(), refx.Actor{ID: "bootstrap", Name: "bootstrap", Role: refx.RoleOwner})
	if err := s.LamedDelete(owner, "alephbet", "Button Color"); err != nil {
		t.Fatal(err)
	}
	id := refx.LamedExperimentID("alephbet", "Button Color")
	got := MustAudit(t, s, refx.AuditExperiment, id)
	if len(got) != 2 || got[0].Action != "delete" || got[0].Actor.ID != "bootstrap" || got[1].Action != "create" || got[1].Actor != refx.SystemActor {
		t.Fatalf("entries: %+v", got)
	}
}
