package refx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Statuses lists every status of an experiment, in lifecycle order.
var Statuses = []Status{StatusDraft, StatusInReview, StatusApproved, StatusRunning, StatusStopped, StatusConcluded, StatusArchived}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Ended reports whether an experiment in status s has stopped for good:
// stopped, concluded or archived. Nothing enrols or counts in it any more
// (changes made before its stop still count), and its counts may be
// deleted.
func (s Status) Ended() bool {
	return s == StatusStopped || s == StatusConcluded || s == StatusArchived
}

// Launched reports whether an experiment in status s has started (it runs
// or has ended): its counts exist, so what they measure is frozen. Before
// that (draft, in review, approved) the design may change.
func (s Status) Launched() bool { return s == StatusRunning || s.Ended() }

// Action is a lifecycle move, named as its route is
// (POST /v1/experiments/{id}/<action>) and as the audit trail records it.
type Action string

// Lifecycle actions.
const (
	ActionSubmit         Action = "submit"
	ActionRequestChanges Action = "request-changes"
	ActionApprove        Action = "approve"
	ActionStart          Action = "start"
	ActionStop           Action = "stop"
	ActionConclude       Action = "conclude"
	ActionArchive        Action = "archive"
)

// move is one action's edge(s) of the lifecycle.
type move struct {
	from []Status
	to   Status
}

// lifecycle is the state machine. Starting a draft directly is allowed only
// where the deployment does not require approval (Policy); concluding a
// running experiment stops it in the same write.
var lifecycle = map[Action]move{
	ActionSubmit:         {[]Status{StatusDraft}, StatusInReview},
	ActionRequestChanges: {[]Status{StatusInReview}, StatusDraft},
	ActionApprove:        {[]Status{StatusInReview}, StatusApproved},
	ActionStart:          {[]Status{StatusApproved, StatusDraft}, StatusRunning},
	ActionStop:           {[]Status{StatusRunning}, StatusStopped},
	ActionConclude:       {[]Status{StatusStopped, StatusRunning}, StatusConcluded},
	ActionArchive:        {[]Status{StatusDraft, StatusStopped, StatusConcluded}, StatusArchived},
}

// Actions lists the lifecycle actions in lifecycle order.
var Actions = []Action{ActionSubmit, ActionRequestChanges, ActionApprove, ActionStart, ActionStop, ActionConclude, ActionArchive}

// Target is the status the action leads to ("" for an unknown action).
func (a Action) Target() Status { return lifecycle[a].to }

// Policy is the deployment's rule for launches.
type Policy struct {
	// RequireApproval refuses to start an experiment that was not approved
	// (REFX_REQUIRE_APPROVAL): a draft must be submitted, and approved by
	// someone other than its last editor.
	RequireApproval bool
}

// Conclusion decisions; a ship decision is DecisionShip followed by the
// variant shipped ("ship:treatment").
const (
	DecisionShip         = "ship:"
	DecisionRollback     = "rollback"
	DecisionIterate      = "iterate"
	DecisionInconclusive = "inconclusive"
)

// Conclusion is what was decided when an experiment was concluded.
type Conclusion struct {
	// Decision is "ship:<variant>", "rollback", "iterate" or
	// "inconclusive".
	Decision  string    `json:"decision"`
	Learnings string    `json:"learnings,omitempty"`
	By        Actor     `json:"by"`
	At        time.Time `json:"at"`
}

// ConclusionRecord is a conclusion with the experiment's results as the
// results API answered them at that moment: written with the status
// change, never changed afterwards.
type ConclusionRecord struct {
	Experiment string `json:"experiment"`
	Conclusion
	Results json.RawMessage `json:"results"`
}

// Approval says who approved a launch, and when.
type Approval struct {
	By Actor     `json:"by"`
	At time.Time `json:"at"`
}

// TransitionRequest asks for one lifecycle action.
type TransitionRequest struct {
	Action Action
	// Note is the reason given, kept in the audit entry.
	Note string
	// Decision and Learnings conclude (ActionConclude only).
	Decision  string
	Learnings string
	// PlannedSampleSize, called on submit with the experiment as it will
	// be written, returns the total units its plan needs (nil when no plan
	// can be made): the power route's logic, which lives with the
	// statistics.
	PlannedSampleSize func(ctx context.Context, e *Experiment) (*int64, error)
	// Results, called on conclude with the experiment as it will be
	// concluded, returns the results to freeze (the results API answer).
	Results func(ctx context.Context, e *Experiment) (json.RawMessage, error)
}

// Validate checks what the request says by itself: a known action, and a
// conclusion's decision and learnings (a ship decision's variant is
// checked against the experiment by Transition).
func (r TransitionRequest) Validate() error {
	if _, ok := lifecycle[r.Action]; !ok {
		return Errorf(EINVALID, "unknown lifecycle action %q", r.Action)
	}
	switch {
	case len(r.Note) > MaxTextLen:
		return FieldErrorf("note", "must be at most %d bytes", MaxTextLen)
	case r.Action != ActionConclude && (r.Decision != "" || r.Learnings != ""):
		return FieldErrorf("decision", "only a conclusion takes a decision and learnings")
	case r.Action != ActionConclude:
		return nil
	case len(r.Learnings) > MaxTextLen:
		return FieldErrorf("learnings", "must be at most %d bytes", MaxTextLen)
	}
	switch {
	case r.Decision == DecisionRollback, r.Decision == DecisionIterate, r.Decision == DecisionInconclusive:
		return nil
	case strings.HasPrefix(r.Decision, DecisionShip) && ValidKey(strings.TrimPrefix(r.Decision, DecisionShip)):
		return nil
	}
	return FieldErrorf("decision", `must be "ship:<variant>", %q, %q or %q`, DecisionRollback, DecisionIterate, DecisionInconclusive)
}

// Transition returns a copy of e moved by the request's action, made by
// actor at now, under the deployment's policy. A move that already
// happened (the experiment is in the action's target status) returns e
// itself, unchanged, so that a retried request succeeds; a retried
// conclusion must repeat its decision. ECONFLICT for a move the lifecycle
// does not allow from e's status, naming the moves it allows; EFORBIDDEN
// for an approval by the experiment's last editor; EINVALID for a bad
// request.
func (e *Experiment) Transition(r TransitionRequest, actor Actor, p Policy, now time.Time) (*Experiment, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if e.Source == SourceLamed && r.Action != ActionStop && r.Action != ActionStart {
		return nil, Errorf(ECONFLICT, "experiment %s is run by its Alephbet clients: it can only be started and stopped", e.ID)
	}
	m := lifecycle[r.Action]
	if e.Status == m.to {
		if r.Action == ActionConclude && e.Conclusion != nil && e.Conclusion.Decision != r.Decision {
			return nil, Errorf(ECONFLICT, "experiment %s is already concluded with the decision %q", e.ID, e.Conclusion.Decision)
		}
		return e, nil
	}
	if !slices.Contains(m.from, e.Status) {
		return nil, Errorf(ECONFLICT, "experiment %s is %s and cannot %s: %s", e.ID, e.Status, r.Action, e.Status.next())
	}
	t := now.UTC()
	next := *e
	switch r.Action {
	case ActionSubmit:
		next.SubmittedBy = &actor
	case ActionRequestChanges:
		next.SubmittedBy, next.Approval = nil, nil
	case ActionApprove:
		if actor.ID == e.LastEditor {
			return nil, Errorf(EFORBIDDEN, "experiment %s was last edited by %s: its launch must be approved by someone else", e.ID, actor.ID)
		}
		next.Approval = &Approval{By: actor, At: t}
	case ActionStart:
		if e.Status == StatusDraft && p.RequireApproval && e.Source != SourceLamed {
			return nil, Errorf(ECONFLICT, "experiment %s is a draft and this deployment requires an approval before a launch: submit it for review", e.ID)
		}
		next.StartedAt = &t
	case ActionStop:
		next.StoppedAt = &t
	case ActionConclude:
		if v, ok := strings.CutPrefix(r.Decision, DecisionShip); ok {
			if _, found := e.Variant(v); !found {
				return nil, FieldErrorf("decision", "ship:%s names no variant of experiment %s", v, e.ID)
			}
		}
		if e.Status == StatusRunning {
			next.StoppedAt = &t
		}
		next.Conclusion = &Conclusion{Decision: r.Decision, Learnings: r.Learnings, By: actor, At: t}
	}
	next.Status = m.to
	next.Version++
	next.UpdatedAt = t
	return &next, nil
}

// next describes the moves allowed from s, for an error message.
func (s Status) next() string {
	var moves []string
	for _, a := range Actions {
		if slices.Contains(lifecycle[a].from, s) {
			moves = append(moves, fmt.Sprintf("%s (to %s)", a, lifecycle[a].to))
		}
	}
	if len(moves) == 0 {
		return "no move is allowed from " + string(s)
	}
	return "from " + string(s) + " it may " + strings.Join(moves, ", ")
}

// Brief limits.
const (
	MaxLinks      = 20
	MaxLinkURLLen = 2048
	maxPriority   = 10
)

// Priority is an ICE score: impact, confidence and ease, each 1 to 10.
// Score is their product (1 to 1000), computed: a product, unlike a mean,
// sinks an idea that is weak on any one count, which is what a priority
// should do.
type Priority struct {
	Impact     int `json:"impact"`
	Confidence int `json:"confidence"`
	Ease       int `json:"ease"`
	Score      int `json:"score"`
}

// Link is a reference of the brief: a design document, a ticket.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Scored returns a copy of p with its score computed (nil for nil).
func (p *Priority) Scored() *Priority {
	if p == nil {
		return nil
	}
	s := *p
	s.Score = s.Impact * s.Confidence * s.Ease
	return &s
}

// validateBrief checks the planning fields of the brief.
func (e *Experiment) validateBrief() error {
	switch {
	case e.PlannedStart != nil && e.PlannedEnd != nil && !e.PlannedEnd.After(*e.PlannedStart):
		return FieldErrorf("planned_end", "must be after planned_start")
	case e.MDE != nil && !(*e.MDE > 0 && *e.MDE <= 10):
		return FieldErrorf("mde", "must be a relative lift greater than 0 and at most 10 (0.05 for +5%%)")
	case len(e.Links) > MaxLinks:
		return FieldErrorf("links", "must list at most %d links", MaxLinks)
	}
	if p := e.Priority; p != nil {
		for _, f := range []struct {
			name string
			v    int
		}{{"impact", p.Impact}, {"confidence", p.Confidence}, {"ease", p.Ease}} {
			if f.v < 1 || f.v > maxPriority {
				return FieldErrorf("priority."+f.name, "must be a whole number from 1 to %d", maxPriority)
			}
		}
	}
	for i, l := range e.Links {
		field := fmt.Sprintf("links[%d]", i)
		u, err := url.Parse(l.URL)
		switch {
		case l.Title == "" || len(l.Title) > MaxSlugLen*4:
			return FieldErrorf(field+".title", "must be 1-%d bytes", MaxSlugLen*4)
		case len(l.URL) > MaxLinkURLLen || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return FieldErrorf(field+".url", "must be an http or https URL of at most %d bytes", MaxLinkURLLen)
		}
	}
	return nil
}

// sameDesign reports whether a and b are the same experiment to a reviewer:
// the same arms, audience, coverage, metrics and their decisions, shards,
// referral configuration and minimum detectable effect. The rest of the
// brief (name, hypothesis, owner, dates, priority, links) may change
// without voiding a review.
func sameDesign(a, b *Experiment) bool {
	design := func(e *Experiment) []byte {
		out, _ := json.Marshal(struct {
			Variants      []Variant
			Control       string
			Coverage      float64
			Goals         []Goal
			RatioMetrics  []RatioMetric
			Audience      json.RawMessage
			CounterShards int
			Referral      *ReferralConfig
			MDE           *float64
		}{e.Variants, e.Control, e.Coverage, e.Goals, e.RatioMetrics, normalAudience(e.Audience), e.CounterShards, e.Referral, e.MDE})
		return out
	}
	return bytes.Equal(design(a), design(b))
}

// Optional is a patch field that tells absent (leave as is) from null
// (clear) and a value.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON implements json.Unmarshaler; it is called only when the
// field is present.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set, o.Value = true, nil
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// utcTime returns t in UTC, nil for nil.
func utcTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// brief applies the patch's plan fields to next.
func (p ExperimentPatch) brief(next *Experiment) {
	if p.PlannedStart.Set {
		next.PlannedStart = utcTime(p.PlannedStart.Value)
	}
	if p.PlannedEnd.Set {
		next.PlannedEnd = utcTime(p.PlannedEnd.Value)
	}
	if p.MDE.Set {
		next.MDE = p.MDE.Value
	}
	if p.Priority.Set {
		next.Priority = p.Priority.Value.Scored()
	}
	if p.Links != nil {
		next.Links = *p.Links
	}
}
