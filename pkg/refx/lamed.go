package refx

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"
)

// Alephbet/Lamed compatibility. Alephbet's LamedAdapter and GimelAdapter
// assign variants in the browser and send "participate" and goal events with
// a uuid; Lamed counts each uuid once per counter. refx keeps such
// experiments as experiments of its own (source "lamed"), discovering their
// variants and goals from the events, so they get refx's results and
// statistics too.

// LamedParticipate is the event Alephbet sends when a visitor enters an
// experiment.
const LamedParticipate = "participate"

// DefaultLamedNamespace is Lamed's default namespace.
const DefaultLamedNamespace = "alephbet"

// LamedTrack is one Alephbet tracking call.
type LamedTrack struct {
	Namespace  string
	Experiment string
	Variant    string
	Event      string
	UUID       string
}

// Normalize puts the parameters in NFC (NormalizeUser), so that two
// spellings of a name are one experiment, variant or goal and two of a
// uuid one visitor. Case stays as sent: Lamed's uuid is free-form, not
// necessarily a UUID, and Lamed compares it exactly.
func (t *LamedTrack) Normalize() {
	for _, f := range []*string{&t.Namespace, &t.Experiment, &t.Variant, &t.Event, &t.UUID} {
		*f = NormalizeUser(*f)
	}
}

// Validate checks the call's parameters.
func (t *LamedTrack) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"namespace", t.Namespace}, {"experiment", t.Experiment}, {"variant", t.Variant}, {"event", t.Event}, {"uuid", t.UUID},
	} {
		if !validLamedName(f.value) {
			return FieldErrorf(f.name, "must be 1-128 bytes of text without control or format characters or '#'")
		}
	}
	return nil
}

// validLamedName is ValidUser with a tighter length and no '#', which keys
// use as a separator.
func validLamedName(s string) bool {
	return len(s) <= 128 && !strings.ContainsRune(s, '#') && ValidUser(s)
}

// LamedExperimentID is the refx id of a Lamed experiment: a readable slug of
// namespace and name, with a digest of both when the slug loses information
// (case, spaces, punctuation) or length.
func LamedExperimentID(namespace, experiment string) string {
	slug := slugify(namespace) + "--" + slugify(experiment)
	if slug == namespace+"--"+experiment && len(slug) <= MaxSlugLen {
		return slug
	}
	sum := sha1.Sum([]byte(namespace + "\x00" + experiment))
	suffix := "-" + hex.EncodeToString(sum[:4])
	if len(slug) > MaxSlugLen-len(suffix) {
		slug = slug[:MaxSlugLen-len(suffix)]
	}
	return strings.TrimRight(slug, "-_") + suffix
}

func slugify(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r < utf8.RuneSelf && (isLowerAlnum(byte(r)) || r == '_'):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-_")
	if out == "" {
		out = "x"
	}
	return out
}

// LamedGoalResult is one variant's counts for a goal, in Lamed's shape:
// trials are the variant's participants.
type LamedGoalResult struct {
	Label     string `json:"label"`
	Successes int64  `json:"successes"`
	Trials    int64  `json:"trials"`
}

// LamedGoal is one goal's results across variants.
type LamedGoal struct {
	Goal    string            `json:"goal"`
	Results []LamedGoalResult `json:"results"`
}

// LamedExperiment is one experiment in Lamed's /experiments answer.
type LamedExperiment struct {
	Experiment string      `json:"experiment"`
	Goals      []LamedGoal `json:"goals"`
}

// LamedQuery selects a page of a namespace's experiments: all of them, or
// those in Scope, by name, from the first name after Cursor.
type LamedQuery struct {
	Namespace string
	Scope     []string
	Cursor    string
}

// LamedPage is one page of a namespace's experiments, in name order;
// NextCursor is empty on the last.
type LamedPage struct {
	Experiments []LamedExperiment
	NextCursor  string
}

// LamedLimits bound what Alephbet clients may create. They send no key a
// customer's backend could vouch for, and every tracking call may create an
// experiment, a variant or a goal, so each is counted against a quota.
type LamedLimits struct {
	// Namespaces are the namespaces allowed; empty allows any.
	Namespaces []string
	// MaxExperiments bounds the experiments of one namespace.
	MaxExperiments int
	// MaxVariants and MaxGoals bound one experiment's variants and goals.
	MaxVariants, MaxGoals int
}

// Lamed limits: the defaults, and the most an experiment may have, which
// are refx's own experiment limits (a Lamed experiment is a refx
// experiment: its results and analysis have the same bounds).
const (
	DefaultLamedMaxExperiments = 100
	DefaultLamedMaxVariants    = 8
	DefaultLamedMaxGoals       = 16
	MaxLamedExperiments        = 10_000
)

// WithDefaults fills the zero bounds with the defaults.
func (l LamedLimits) WithDefaults() LamedLimits {
	if l.MaxExperiments == 0 {
		l.MaxExperiments = DefaultLamedMaxExperiments
	}
	if l.MaxVariants == 0 {
		l.MaxVariants = DefaultLamedMaxVariants
	}
	if l.MaxGoals == 0 {
		l.MaxGoals = DefaultLamedMaxGoals
	}
	return l
}

// Validate checks limits that WithDefaults has filled: EINVALID, with the
// field (namespaces, max_experiments, max_variants, max_goals) at fault.
func (l LamedLimits) Validate() error {
	for _, ns := range l.Namespaces {
		if !validLamedName(ns) {
			return FieldErrorf("namespaces", "%q is not a namespace: want 1-128 bytes of text without control characters or '#'", ns)
		}
	}
	switch {
	case l.MaxExperiments < 1 || l.MaxExperiments > MaxLamedExperiments:
		return FieldErrorf("max_experiments", "%d: want 1 to %d", l.MaxExperiments, MaxLamedExperiments)
	case l.MaxVariants < 2 || l.MaxVariants > MaxVariants:
		return FieldErrorf("max_variants", "%d: want 2 to %d", l.MaxVariants, MaxVariants)
	case l.MaxGoals < 1 || l.MaxGoals > MaxGoals:
		return FieldErrorf("max_goals", "%d: want 1 to %d", l.MaxGoals, MaxGoals)
	}
	return nil
}

// Allows reports whether the namespace may be tracked. EFORBIDDEN otherwise.
func (l LamedLimits) Allows(namespace string) error {
	if len(l.Namespaces) > 0 && !slices.Contains(l.Namespaces, namespace) {
		return Errorf(EFORBIDDEN, "namespace %q is not allowed", namespace)
	}
	return nil
}

// LamedService is the Lamed-compatible backend.
type LamedService interface {
	// LamedTrack counts an event once per uuid and counter. EFORBIDDEN for
	// a namespace not allowed, ELIMIT for an experiment, variant or goal
	// beyond the limits, ECONFLICT for the id of a refx experiment.
	LamedTrack(ctx context.Context, t LamedTrack) error
	// LamedExperiments returns a page of a namespace's experiments (all, or
	// those in scope) with their results.
	LamedExperiments(ctx context.Context, q LamedQuery) (*LamedPage, error)
	// LamedDelete deletes an experiment and its counts; deleting an unknown
	// experiment is not an error.
	LamedDelete(ctx context.Context, namespace, experiment string) error
}
