package refx

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
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

// LamedService is the Lamed-compatible backend.
type LamedService interface {
	// LamedTrack counts an event once per uuid and counter.
	LamedTrack(ctx context.Context, t LamedTrack) error
	// LamedExperiments returns a namespace's experiments (all, or those in
	// scope) with their results.
	LamedExperiments(ctx context.Context, namespace string, scope []string) ([]LamedExperiment, error)
	// LamedDelete deletes an experiment and its counts; deleting an unknown
	// experiment is not an error.
	LamedDelete(ctx context.Context, namespace, experiment string) error
}
