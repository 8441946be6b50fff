package refx_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/bucket"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestLayerClaim(t *testing.T) {
	now := time.Now()
	l, err := refx.NewLayer{ID: "checkout"}.Build(now)
	if err != nil {
		t.Fatal(err)
	}
	l, err = l.Claim("a", refx.LayerRange{Start: 0, End: 0.4}, now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		experiment string
		r          refx.LayerRange
		code       string
	}{
		{"Adjacent", "b", refx.LayerRange{Start: 0.4, End: 0.7}, ""},
		{"ErrOverlap", "b", refx.LayerRange{Start: 0.39, End: 0.5}, refx.ECONFLICT},
		{"ErrInside", "b", refx.LayerRange{Start: 0.1, End: 0.2}, refx.ECONFLICT},
		{"ErrAround", "b", refx.LayerRange{Start: 0, End: 1}, refx.ECONFLICT},
		{"SameClaimAgain", "a", refx.LayerRange{Start: 0, End: 0.4}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := l.Claim(tt.experiment, tt.r, now)
			if got := refx.ErrorCode(err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, err, tt.code)
			}
			if err != nil {
				return
			}
			if tt.experiment == "a" && next != l {
				t.Fatal("a retried claim changed the layer")
			}
			if tt.experiment == "b" && (len(next.Claims) != 2 || next.Version != l.Version+1 || len(l.Claims) != 1) {
				t.Fatalf("claims %+v v%d (before: %+v)", next.Claims, next.Version, l.Claims)
			}
		})
	}
	t.Run("Release", func(t *testing.T) {
		freed := l.Release("a", now)
		if len(freed.Claims) != 0 || freed.Version != l.Version+1 || len(l.Claims) != 1 {
			t.Fatalf("released %+v", freed)
		}
		if l.Release("nobody", now) != l {
			t.Fatal("releasing no claim changed the layer")
		}
		if _, err := freed.Claim("b", refx.LayerRange{Start: 0.1, End: 0.2}, now); err != nil {
			t.Fatalf("range not freed: %v", err)
		}
	})
}

func TestExperimentLayerValidation(t *testing.T) {
	base := func() refx.NewExperiment {
		return refx.NewExperiment{ID: "e", Variants: []refx.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}},
			Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}
	}
	r := func(s, e float64) *refx.LayerRange { return &refx.LayerRange{Start: s, End: e} }
	tests := []struct {
		name  string
		edit  func(*refx.NewExperiment)
		field string
	}{
		{"OK", func(n *refx.NewExperiment) { n.Layer, n.LayerRange = "l", r(0.2, 0.5) }, ""},
		{"WholeLayer", func(n *refx.NewExperiment) { n.Layer = "l" }, ""},
		{"ErrRangeWithoutLayer", func(n *refx.NewExperiment) { n.LayerRange = r(0, 0.5) }, "layer_range"},
		{"ErrEmptyRange", func(n *refx.NewExperiment) { n.Layer, n.LayerRange = "l", r(0.5, 0.5) }, "layer_range"},
		{"ErrPastOne", func(n *refx.NewExperiment) { n.Layer, n.LayerRange = "l", r(0.5, 1.5) }, "layer_range"},
		{"ErrLayerID", func(n *refx.NewExperiment) { n.Layer = "no spaces" }, "layer"},
		{"ErrKind", func(n *refx.NewExperiment) { n.Kind = "canary" }, "kind"},
		{"ErrHoldoutArms", func(n *refx.NewExperiment) { n.Kind = refx.KindHoldout }, "variants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := base()
			tt.edit(&n)
			_, err := n.Build(time.Now())
			var field string
			if fe, ok := err.(*refx.Error); ok {
				field = fe.Field
			} else if err != nil {
				t.Fatal(err)
			}
			if field != tt.field {
				t.Fatalf("field %q (%v), want %q", field, err, tt.field)
			}
		})
	}
}

// TestLayerRangeJSON: the API's [start, end].
func TestLayerRangeJSON(t *testing.T) {
	var r refx.LayerRange
	if err := json.Unmarshal([]byte(`[0.25, 0.5]`), &r); err != nil || r != (refx.LayerRange{Start: 0.25, End: 0.5}) {
		t.Fatalf("%+v %v", r, err)
	}
	if b, _ := json.Marshal(r); string(b) != `[0.25,0.5]` {
		t.Fatalf("%s", b)
	}
	for _, bad := range []string{`[0.25]`, `{"start":0}`, `[0, 1, 2]`} {
		if json.Unmarshal([]byte(bad), &r) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestInLayerIsGrowthBookNamespace: a user is in an experiment's range
// exactly when GrowthBook's inNamespace says so, for every user.
func TestInLayerIsGrowthBookNamespace(t *testing.T) {
	e, err := refx.NewExperiment{ID: "e", Layer: "home", LayerRange: &refx.LayerRange{Start: 0.3, End: 0.6},
		Variants: []refx.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}}, Goals: []refx.Goal{{Key: "g", Kind: refx.GoalBinomial}}}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := 0
	for i := range 10000 {
		user := fmt.Sprintf("user-%d", i)
		got := e.InLayer(user)
		if got != bucket.InNamespace(user, "home", 0.3, 0.6) {
			t.Fatalf("user %s: InLayer %v", user, got)
		}
		if got {
			in++
		}
	}
	if in < 2800 || in > 3200 {
		t.Fatalf("%d of 10000 users in a 30%% range", in)
	}
}

func TestHoldoutBuild(t *testing.T) {
	h, err := refx.NewHoldout{ID: "h", Share: 0.1, Goals: []refx.Goal{{Key: "purchase", Kind: refx.GoalValue}}}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if h.Kind != refx.KindHoldout || h.Control != refx.HoldoutArm || h.Ref().Share != 0.1 {
		t.Fatalf("%+v", h)
	}
	// The ref's pure hash is the holdout experiment's own bucketing.
	held := 0
	for i := range 2000 {
		u := fmt.Sprintf("user-%d", i)
		v, _ := h.Bucket(u)
		if v.Key == refx.HoldoutArm {
			held++
		}
		if got := h.Ref().Arm(u); got != v.Key {
			t.Fatalf("user %s: ref says %s, bucket %s", u, got, v.Key)
		}
	}
	if held < 150 || held > 250 {
		t.Fatalf("%d of 2000 users held out at 10%%", held)
	}
	for _, share := range []float64{0, 1, -0.1} {
		if _, err := (refx.NewHoldout{ID: "h", Share: share, Goals: h.Goals}).Build(time.Now()); refx.ErrorCode(err) != refx.EINVALID {
			t.Errorf("share %g: %v", share, err)
		}
	}
	layered := *h
	layered.Layer = "home"
	exp := &refx.Experiment{Layer: "home"}
	other := &refx.Experiment{Layer: "checkout"}
	if !h.Covers(exp) || !h.Covers(other) || !layered.Covers(exp) || layered.Covers(other) || h.Covers(h) {
		t.Fatal("coverage of global and layer holdouts")
	}
}

// TestLayerFrozenOnceLaunched: a draft may move within or out of a layer;
// a running experiment may not, since its start claimed the range.
func TestLayerFrozenOnceLaunched(t *testing.T) {
	now := time.Now()
	draft, err := refx.NewExperiment{ID: "e", Layer: "home", LayerRange: &refx.LayerRange{Start: 0, End: 0.5},
		Variants: []refx.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}}, Goals: []refx.Goal{{Key: "g", Kind: refx.GoalBinomial}}}.Build(now)
	if err != nil {
		t.Fatal(err)
	}
	other, none := "checkout", ""
	moved, err := draft.Apply(refx.ExperimentPatch{Version: 1, Layer: &other, LayerRange: &refx.LayerRange{Start: 0.5, End: 1}}, now)
	if err != nil || moved.Layer != "checkout" || *moved.LayerRange != (refx.LayerRange{Start: 0.5, End: 1}) {
		t.Fatalf("draft move: %+v %v", moved, err)
	}
	if _, err := draft.Apply(refx.ExperimentPatch{Version: 1, Layer: &none}, now); refx.ErrorCode(err) != refx.EINVALID {
		t.Fatalf("leaving the layer with a range: %v", err)
	}
	running := *draft
	running.Status = refx.StatusRunning
	tests := []struct {
		name  string
		patch refx.ExperimentPatch
		field string
	}{
		{"ErrLayer", refx.ExperimentPatch{Version: 1, Layer: &other}, "layer"},
		{"ErrRange", refx.ExperimentPatch{Version: 1, LayerRange: &refx.LayerRange{Start: 0, End: 0.6}}, "layer_range"},
		{"SameRange", refx.ExperimentPatch{Version: 1, LayerRange: &refx.LayerRange{Start: 0, End: 0.5}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := running.Apply(tt.patch, now)
			var field string
			if fe, ok := err.(*refx.Error); ok {
				field = fe.Field
			}
			if field != tt.field || (tt.field != "" && refx.ErrorCode(err) != refx.ECONFLICT) {
				t.Fatalf("field %q (%v), want %q", field, err, tt.field)
			}
		})
	}
}
