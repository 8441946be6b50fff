package refx

import "bytes"

// An A/A test splits users between identical variants: any difference its
// results show is chance (or a broken pipeline), so its false-positive
// rate is the check of the whole measurement. Identical means the same
// payload, compared as compact JSON; the weights may differ, since an
// unequal split is itself worth testing.
func (e *Experiment) validateAA() error {
	if !e.AA {
		return nil
	}
	first := compactJSON(e.Variants[0].Payload)
	for _, v := range e.Variants[1:] {
		if !bytes.Equal(compactJSON(v.Payload), first) {
			return FieldErrorf("variants", "an A/A test's variants must have identical payloads: %q differs from %q", v.Key, e.Variants[0].Key)
		}
	}
	return nil
}

// applyAA sets next.AA from the patch: only a draft may become, or stop
// being, an A/A test, since results counted as one kind of test are not
// the other's.
func (e *Experiment) applyAA(p ExperimentPatch, next *Experiment) error {
	if p.AA == nil || *p.AA == e.AA {
		return nil
	}
	if e.Status != StatusDraft {
		return &Error{Code: ECONFLICT, Field: "aa", Message: "cannot change while the experiment is " + string(e.Status)}
	}
	next.AA = *p.AA
	return nil
}
