package dynamo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.ProgramService = (*Store)(nil)

// entityProgram marks programs.
const entityProgram = "program"

// CreateProgram stores a new program with its audit entry. ECONFLICT if
// the id is taken.
func (s *Store) CreateProgram(ctx context.Context, p *refx.Program) error {
	return s.writeProgram(ctx, "CreateProgram", "create", nil, p, absent(), refx.Errorf(refx.ECONFLICT, "program %s already exists", p.ID))
}

// Program reads a program consistently. ENOTFOUND.
func (s *Store) Program(ctx context.Context, id string) (*refx.Program, error) {
	return s.readProgram(ctx, id, true)
}

// readProgram reads a program, consistently or not. ENOTFOUND.
func (s *Store) readProgram(ctx context.Context, id string, consistent bool) (*refx.Program, error) {
	var it item.Program
	found, err := s.readItem(ctx, "Program", &dynamodb.GetItemInput{TableName: s.table, Key: programKey(id).Attributes(), ConsistentRead: &consistent}, &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "program %s not found", id)
	}
	return programOf(it), nil
}

// Programs lists programs, newest first. EINVALID for a bad cursor.
func (s *Store) Programs(ctx context.Context, limit int, cursor string) (*refx.ProgramPage, error) {
	programs, next, err := indexPage(ctx, s, "Programs", programListPK, limit, cursor, nil, programOf)
	if err != nil {
		return nil, err
	}
	return &refx.ProgramPage{Programs: programs, NextCursor: next}, nil
}

// UpdateProgram applies a patch if the client's version is current.
// ECONFLICT otherwise, ENOTFOUND.
func (s *Store) UpdateProgram(ctx context.Context, id string, patch refx.ProgramPatch) (*refx.Program, error) {
	current, err := s.Program(ctx, id)
	if err != nil {
		return nil, err
	}
	next, err := current.Apply(patch, s.opts.Now())
	if err != nil {
		return nil, err
	}
	return next, s.writeProgram(ctx, "UpdateProgram", "update", current, next, sameVersion(current.Version), programChanged(current))
}

// writeProgram puts next with its audit entry, on cond.
func (s *Store) writeProgram(ctx context.Context, op, action string, before, next *refx.Program, cond expression.ConditionBuilder, conflict error) error {
	put, err := putProgram(s.table, next, cond)
	if err != nil {
		return storeError(op, err)
	}
	return s.writeAudited(ctx, op, put, refx.AuditProgram, next.ID, action, before, next, conflict)
}

func programChanged(p *refx.Program) error {
	return refx.Errorf(refx.ECONFLICT, "program %s changed since version %d: read it again", p.ID, p.Version)
}

// checkProgram refuses a referral experiment naming a program that does
// not exist (EINVALID on referral.program).
func (s *Store) checkProgram(ctx context.Context, e *refx.Experiment) error {
	if e.Referral == nil || e.Referral.Program == "" {
		return nil
	}
	_, err := s.readProgram(ctx, e.Referral.Program, false)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return refx.FieldErrorf("referral.program", "program %s does not exist: create it first", e.Referral.Program)
	}
	return err
}

// programWrites prepares the program side of a conclusion, for the
// experiment's own transaction: shipping a variant makes it the program's
// current offer, a rollback brings back the default. The program's put is
// conditioned on the version read, so a concurrent edit fails the
// conclusion, which Transition then reads again and retries. The change
// has its own audit entry, so the program's history shows where its offer
// came from.
func (s *Store) programWrites(ctx context.Context, r refx.TransitionRequest, next *refx.Experiment) ([]guardedWrite, error) {
	if r.Action != refx.ActionConclude || next.Referral == nil || next.Referral.Program == "" {
		return nil, nil
	}
	current, err := s.Program(ctx, next.Referral.Program)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, nil // nothing left to serve the decision
	}
	if err != nil {
		return nil, err
	}
	changed := current.Concluded(next, r.Decision, s.opts.Now())
	if changed == current {
		return nil, nil
	}
	put, err := putProgram(s.table, changed, sameVersion(current.Version))
	if err != nil {
		return nil, storeError("programWrites", err)
	}
	entry, err := s.auditNotePut(ctx, refx.AuditProgram, changed.ID, "offer", "conclusion of "+next.ID+": "+r.Decision, current, changed)
	if err != nil {
		return nil, storeError("programWrites", err)
	}
	return []guardedWrite{{Item: put, Conflict: programChanged(current)}, {Item: entry, Conflict: programChanged(current)}}, nil
}

// ProgramResults reads a program's totals, one consistent read of its
// counter. ENOTFOUND for an unknown program.
func (s *Store) ProgramResults(ctx context.Context, id string) (*refx.ProgramResults, error) {
	if _, err := s.readProgram(ctx, id, false); err != nil {
		return nil, err
	}
	var c item.ProgramCounter
	if _, err := s.getItem(ctx, "ProgramResults", programCounterKey(id), &c); err != nil {
		return nil, err
	}
	res := &refx.ProgramResults{Program: id, Clicks: c.Clicks, Signups: c.Signups, Conversions: c.Conversions,
		ConvertingReferees: c.ConvertingReferees, Value: "0"}
	if c.Value != "" {
		v, err := decimalRat("program value", c.Value)
		if err != nil {
			return nil, storeError("ProgramResults", err)
		}
		res.Value = string(formatDecimal(v))
	}
	return res, nil
}

// offer is what a code serves now: while its experiment runs, the code's
// own variant, counted in the experiment; once the experiment has ended,
// its program's current offer, counted for the program.
type offer struct {
	// Variant is the variant served (its key, payload and rewards): the
	// code's, or the program's current offer's.
	refx.Variant
	Experiment *refx.Experiment
	// Program is the program serving an ended experiment's code; nil while
	// the experiment runs.
	Program *refx.Program
	// InExperiment is true while the experiment runs: what the code brings
	// counts in it. Otherwise it counts for Program.
	InExperiment bool
}

// Location is where the code's link leads.
func (o *offer) Location(code string) string {
	if o.Program != nil {
		return o.Program.LinkTarget(code)
	}
	return o.Experiment.Referral.LinkTarget(code)
}

// ProgramID is the program of an ended experiment's code, "" otherwise.
func (o *offer) ProgramID() string {
	if o.Program == nil {
		return ""
	}
	return o.Program.ID
}

// currentOffer returns what code c serves, or nil when it serves nothing:
// its experiment is gone or not a referral experiment, or has ended
// without a program (or its program is gone). The program is read
// eventually consistently: an offer changes by a conclusion, and a code
// served the previous offer for a second is served what it served the
// second before.
func (s *Store) currentOffer(ctx context.Context, c codeItem) (*offer, error) {
	exp, err := s.cachedExperiment(ctx, c.Experiment)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, nil
	}
	if err != nil || exp.Referral == nil {
		return nil, err
	}
	if exp.Status == refx.StatusRunning {
		v, _ := exp.Variant(c.Variant)
		return &offer{Variant: v, Experiment: exp, InExperiment: true}, nil
	}
	if !exp.Status.Ended() || exp.Referral.Program == "" {
		return nil, nil
	}
	p, err := s.readProgram(ctx, exp.Referral.Program, false)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &offer{Variant: p.CurrentOffer.Variant, Experiment: exp, Program: p}, nil
}

// programAt is the program a change at t of an experiment's code counts
// for: the experiment's program when the experiment had ended by t, ""
// otherwise. The aggregator decides by the experiment's stop time, as it
// does for the experiment itself, so that a click, signup or conversion
// counts in exactly one of them whatever the request path believed.
func programAt(exp *refx.Experiment, t time.Time) string {
	if exp == nil || exp.Referral == nil || exp.Referral.Program == "" || !exp.Status.Ended() ||
		exp.StoppedAt == nil || t.Before(*exp.StoppedAt) {
		return ""
	}
	return exp.Referral.Program
}

// program is the counter change of a program's totals.
func (d *deltaSet) program(id string) *counterChange {
	return d.change(programCounterKey(id), map[string]string{"entity": entityCounter, "program": id})
}

// putProgram is the conditional put of program p.
func putProgram(table *string, p *refx.Program, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	it := item.Program{
		Key: programKey(p.ID), GSI1PK: programListPK, GSI1SK: experimentListSK(p.CreatedAt, p.ID), Entity: entityProgram,
		ID: p.ID, Name: p.Name, LandingURL: p.LandingURL,
		Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	for _, o := range []struct {
		offer refx.Offer
		to    *string
	}{{p.DefaultOffer, &it.DefaultOffer}, {p.CurrentOffer, &it.CurrentOffer}} {
		b, err := json.Marshal(o.offer)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		*o.to = string(b)
	}
	return putItem(table, it, &cond)
}

// programOf reads a stored program. Its offers were marshalled by
// putProgram from valid offers, so they unmarshal.
func programOf(it item.Program) *refx.Program {
	p := &refx.Program{ID: it.ID, Name: it.Name, LandingURL: it.LandingURL,
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	json.Unmarshal([]byte(it.DefaultOffer), &p.DefaultOffer)
	json.Unmarshal([]byte(it.CurrentOffer), &p.CurrentOffer)
	return p
}
