package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// MustProgram creates program id, landing on shop.example/program,
// whose default offer pays {"reward":5}.
func MustProgram(tb testing.TB, s *dynamo.Store, id string) *refx.Program {
	tb.Helper()
	p, err := refx.NewProgram{ID: id, LandingURL: "https://shop.example/program",
		DefaultOffer: refx.Offer{Variant: refx.Variant{Payload: json.RawMessage(`{"reward":5}`)}}}.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.CreateProgram(refx.WithActor(context.Background(), editor), p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func programExperiment(id, program string) refx.NewExperiment {
	n := newReferralExperiment(id)
	n.Referral.Program = program
	return n
}

func mustProgramResults(tb testing.TB, s *dynamo.Store, id string) refx.ProgramResults {
	tb.Helper()
	dynamotest.MustCount(tb, s)
	res, err := s.ProgramResults(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return *res
}

func mustCodeInfo(tb testing.TB, s *dynamo.Store, code string) *refx.CodeInfo {
	tb.Helper()
	info, err := s.Code(context.Background(), code)
	if err != nil {
		tb.Fatal(err)
	}
	return info
}

// TestProgramContinuity: a code shared during the test keeps working after
// the stop, under the program's offer; what it brings after the stop (a
// click, a signup, conversions of a new and of an earlier referee) counts
// for the program and not the experiment, and what it brought before for
// the experiment only. A flagged signup after the stop counts as no signup.
func TestProgramContinuity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	MustProgram(t, s, "give-get")
	e := MustRunning(t, s, programExperiment("continuity", "give-get"))
	link := mustLink(t, s, e.ID, "alice")

	// During the test: the experiment's landing URL and variant.
	if info := mustCodeInfo(t, s, link.Code); !info.Valid || info.Variant != link.Variant || info.Program != "" {
		t.Fatalf("code during the test = %+v", info)
	}
	click, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: "visitor-aaaaaaaaaaaa"})
	if err != nil || click.Location != "https://shop.example/welcome?ref="+link.Code+"&utm_source=refx" {
		t.Fatalf("click during the test = %+v, %v", click, err)
	}
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "carol", IPHash: "ip-carol"}, refx.AttributionAttributed)
	mustEvent(t, s, &refx.Event{ID: uuid(), Type: "purchase", User: "carol", Value: decimal(t, "30")})
	if got := mustProgramResults(t, s, "give-get"); got != (refx.ProgramResults{Program: "give-get", Value: "0"}) {
		t.Fatalf("program results while the experiment runs = %+v, want nothing", got)
	}

	if _, err := s.SetStatus(refx.WithActor(ctx, editor), e.ID, refx.StatusStopped); err != nil {
		t.Fatal(err)
	}

	// After the stop: the program's landing URL and default offer.
	info := mustCodeInfo(t, s, link.Code)
	if !info.Valid || info.Program != "give-get" || info.Variant != refx.OfferDefault || string(info.Payload) != `{"reward":5}` {
		t.Fatalf("code after the stop = %+v (payload %s)", info, info.Payload)
	}
	click, err = s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: "visitor-bbbbbbbbbbbb"})
	if err != nil || !click.Recorded || click.Location != "https://shop.example/program?ref="+link.Code {
		t.Fatalf("click after the stop = %+v, %v", click, err)
	}
	res := mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "dave", IPHash: "ip-dave"}, refx.AttributionAttributed)
	if res.Attribution.Program != "give-get" || res.Attribution.Experiment != e.ID {
		t.Fatalf("attribution after the stop = %+v", res.Attribution)
	}
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "erin", IPHash: "ip-dave"}, refx.AttributionFlagged, refx.ReasonRepeatedIP)
	got, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: "dave", Value: decimal(t, "20")})
	if err != nil || len(got.Credits) != 1 || got.Credits[0].Referrer != "alice" || !got.Credits[0].FirstConversion {
		t.Fatalf("dave's purchase = %+v, %v", got, err)
	}
	mustEvent(t, s, &refx.Event{ID: uuid(), Type: "purchase", User: "carol", Value: decimal(t, "10")})
	// A flagged referee's conversion credits no one.
	if got, _ := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: "erin", Value: decimal(t, "99")}); len(got.Credits) != 0 {
		t.Fatalf("flagged referee credited: %+v", got.Credits)
	}

	r := referralCounts(t, s, e.ID, link.Variant)
	if r.Clicks != 1 || r.Signups != 1 || r.Conversions != 1 || r.ConversionValue != "30" || r.ConvertingReferees != 1 {
		t.Fatalf("experiment's counts = %+v, want the test's only (1 click, 1 signup, 1 conversion of 30)", r)
	}
	want := refx.ProgramResults{Program: "give-get", Clicks: 1, Signups: 1, Conversions: 2, ConvertingReferees: 1, Value: "30"}
	if got := mustProgramResults(t, s, "give-get"); got != want {
		t.Fatalf("program results = %+v, want %+v", got, want)
	}
}

// TestProgramOffer: concluding an experiment with ship:<variant> makes the
// variant the program's offer, in the conclusion's transaction and with
// the program's own audit entry; iterate leaves it; a rollback brings the
// default back. An experiment cannot name a program that does not exist.
func TestProgramOffer(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), editor)
	s := MustStore(t, dynamo.Options{})
	MustProgram(t, s, "offers")

	bad, err := programExperiment("orphan", "no-such-program").Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = s.CreateExperiment(ctx, bad)
	wantCode(t, err, refx.EINVALID)
	if e, ok := err.(*refx.Error); !ok || e.Field != "referral.program" {
		t.Fatalf("error = %v, want one on referral.program", err)
	}

	conclude := func(id, decision string) {
		t.Helper()
		_, err := s.Transition(ctx, id, refx.TransitionRequest{Action: refx.ActionConclude, Decision: decision, Results: frozenCounts(s)})
		if err != nil {
			t.Fatal(err)
		}
	}
	offer := func() refx.Offer {
		t.Helper()
		p, err := s.Program(ctx, "offers")
		if err != nil {
			t.Fatal(err)
		}
		return p.CurrentOffer
	}

	first := MustRunning(t, s, programExperiment("first", "offers"))
	link := mustLink(t, s, first.ID, "alice")
	conclude(first.ID, "ship:bold")
	if o := offer(); o.Source != "experiment:first/bold" || o.Key != "bold" || string(o.Payload) != `{"reward":20}` {
		t.Fatalf("offer after ship:bold = %+v", o)
	}
	if info := mustCodeInfo(t, s, link.Code); info.Variant != "bold" || string(info.Payload) != `{"reward":20}` || info.Program != "offers" {
		t.Fatalf("code after ship:bold = %+v", info)
	}

	second := MustRunning(t, s, programExperiment("second", "offers"))
	conclude(second.ID, refx.DecisionIterate)
	if o := offer(); o.Source != "experiment:first/bold" {
		t.Fatalf("offer after iterate = %+v, want first's bold still", o)
	}
	third := MustRunning(t, s, programExperiment("third", "offers"))
	conclude(third.ID, refx.DecisionRollback)
	if o := offer(); o.Source != refx.OfferDefault || string(o.Payload) != `{"reward":5}` {
		t.Fatalf("offer after rollback = %+v", o)
	}
	if info := mustCodeInfo(t, s, link.Code); info.Variant != refx.OfferDefault || string(info.Payload) != `{"reward":5}` {
		t.Fatalf("code after rollback = %+v", info)
	}

	var actions []string
	for _, entry := range MustAudit(t, s, refx.AuditProgram, "offers") {
		actions = append(actions, entry.Action+" "+entry.Note)
	}
	want := []string{"offer conclusion of third: rollback", "offer conclusion of first: ship:bold", "create "}
	if len(actions) != len(want) || actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] {
		t.Fatalf("program's audit = %q, want %q", actions, want)
	}
}

// BenchmarkProgramWRU measures the write units of what a code of an ended
// experiment brings its program, request path and aggregator: a click (the
// click item alone, no visitor mark), a signup and a referee's conversion.
// go test ./pkg/dynamo -run '^$' -bench BenchmarkProgramWRU -benchtime 1x
func BenchmarkProgramWRU(b *testing.B) {
	ctx := context.Background()
	direct := MustStore(b, dynamo.Options{})
	MustProgram(b, direct, "bench-program")
	n := programExperiment("bench-program-exp", "bench-program")
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 100, 100
	e := MustRunning(b, direct, n)
	link := mustLink(b, direct, e.ID, "alice")
	if _, err := direct.SetStatus(refx.WithActor(ctx, editor), e.ID, refx.StatusStopped); err != nil {
		b.Fatal(err)
	}
	c := mustContentionOn(b, direct, false)
	const k = 20
	fresh := func(kind string, i int) string { return fmt.Sprintf("%s-%s-%04d", kind, uuid()[:8], i) }
	types := []wruRequest{
		{"program-click", func(i int) string { return fresh("visitor", i) }, func(visitor string) error {
			_, err := c.through.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor})
			return err
		}},
		{"program-signup", func(i int) string { return fresh("referee", i) }, func(referee string) error {
			_, err := c.through.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee})
			return err
		}},
		{"program-conversion", func(i int) string {
			referee := fresh("buyer", i)
			if _, err := direct.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee}); err != nil {
				b.Fatal(err)
			}
			return referee
		}, func(referee string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: referee, Value: decimal(b, "19.99")})
			return err
		}},
	}
	b.ResetTimer()
	c.measureWRU(b, k, types)
	res, err := direct.ProgramResults(ctx, "bench-program")
	if err != nil || res.Clicks != k || res.Signups != 2*k || res.Conversions != k {
		b.Fatalf("program results = %+v, %v; want %d clicks, %d signups, %d conversions", res, err, k, 2*k, k)
	}
}

// TestProgramStaleServer: a server whose cache still holds the experiment
// as running attributes a signup after the stop for the experiment (no
// program on the item); the aggregator, deciding by the stop time, counts
// it for the program and not the ended experiment all the same.
func TestProgramStaleServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := MustStore(t, dynamo.Options{})
	stale := dynamo.New(admin.Client(), admin.Table(), dynamo.Options{ExperimentCacheTTL: time.Hour})
	MustProgram(t, admin, "stale")
	e := MustRunning(t, admin, programExperiment("stale-exp", "stale"))
	link := mustLink(t, stale, e.ID, "alice") // caches the running experiment
	if _, err := admin.SetStatus(refx.WithActor(ctx, editor), e.ID, refx.StatusStopped); err != nil {
		t.Fatal(err)
	}
	res := mustAttribute(t, stale, refx.Signup{Code: link.Code, Referee: "late", IPHash: "ip-late"}, refx.AttributionAttributed)
	if res.Attribution.Program != "" {
		t.Fatalf("the stale server knew of the stop: %+v", res.Attribution)
	}
	if got := mustProgramResults(t, admin, "stale"); got.Signups != 1 {
		t.Fatalf("program results = %+v, want the late signup", got)
	}
	if r := referralCounts(t, admin, e.ID, link.Variant); r.Signups != 0 {
		t.Fatalf("the ended experiment counted the late signup: %+v", r)
	}
}
