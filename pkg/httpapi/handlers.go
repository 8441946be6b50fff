package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/refx-dev/refx/pkg/refx"
)

// AssignRequest is the body of POST /v1/assign.
type AssignRequest struct {
	Experiment string `json:"experiment"`
	User       string `json:"user"`
	// Attributes are the user's, for the experiment's audience. Raw, so
	// that numbers decode as the float64 the condition language compares
	// (decodeJSON keeps them as json.Number).
	Attributes json.RawMessage `json:"attributes,omitempty"`
	// Covariates are the user's pre-enrolment values by goal key (CUPED),
	// accepted from secret keys only. Raw, so that a bad one is named.
	Covariates map[string]json.RawMessage `json:"covariates,omitempty"`
}

// covariates parses req's covariates as decimals, nil when none.
func (req AssignRequest) covariates() (map[string]refx.Decimal, error) {
	var out map[string]refx.Decimal
	for key, raw := range req.Covariates {
		x, err := refx.ParseDecimal(string(raw))
		if err != nil {
			return nil, refx.FieldErrorf("covariates."+key, "must be a decimal number (at most %d fractional digits)", refx.DecimalPlaces)
		}
		if out == nil {
			out = map[string]refx.Decimal{}
		}
		out[key] = x
	}
	return out, nil
}

// attributes validates req and returns its attributes, nil when none.
func (req AssignRequest) attributes() (map[string]any, error) {
	switch {
	case !refx.ValidSlug(req.Experiment):
		return nil, refx.FieldErrorf("experiment", "must be an experiment id")
	case !refx.ValidUser(req.User):
		return nil, refx.InvalidUser("user")
	}
	var attrs map[string]any
	if len(req.Attributes) > 0 && json.Unmarshal(req.Attributes, &attrs) != nil {
		return nil, refx.FieldErrorf("attributes", "must be a JSON object")
	}
	return attrs, nil
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) error {
	var req AssignRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.User = refx.NormalizeUser(req.User)
	attrs, err := req.attributes()
	if err != nil {
		return err
	}
	covariates, err := req.covariates()
	if err != nil {
		return err
	}
	if len(covariates) > 0 && !callerOf(r.Context()).trusted() {
		// A browser could send any history it likes; as for server-only
		// goals, nothing is written.
		return &refx.Error{Code: refx.EFORBIDDEN, Field: "covariates",
			Message: "covariates are accepted only from a server with a secret key"}
	}
	a, err := s.Assignments.AssignWith(r.Context(), req.Experiment, req.User,
		refx.AssignInput{Attributes: attrs, Covariates: covariates})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) recordEvent(w http.ResponseWriter, r *http.Request) error {
	var e refx.Event
	if err := decodeJSON(w, r, &e); err != nil {
		return err
	}
	e.Normalize()
	if err := e.Validate(s.now()); err != nil {
		return err
	}
	res, err := s.record(r, &e)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if res.Status == refx.EventDuplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
	return nil
}

// BatchRequest is the body of POST /v1/events:batch.
type BatchRequest struct {
	Events []refx.Event `json:"events"`
}

func (req BatchRequest) validate(s *Server) error {
	if len(req.Events) == 0 || len(req.Events) > refx.MaxBatch {
		return refx.FieldErrorf("events", "must hold 1 to %d events", refx.MaxBatch)
	}
	now := s.now()
	for i := range req.Events {
		req.Events[i].Normalize()
		if err := req.Events[i].Validate(now); err != nil {
			field := "events[" + strconv.Itoa(i) + "]." + refx.ErrorField(err)
			return &refx.Error{Code: refx.ErrorCode(err), Field: field, Message: refx.ErrorMessage(err)}
		}
	}
	return nil
}

// BatchItemResult is the outcome of one event of a batch: a result or an
// error, never both.
type BatchItemResult struct {
	ID      string        `json:"id"`
	Status  string        `json:"status,omitempty"`
	Credits []refx.Credit `json:"credits,omitempty"`
	// Attribution is the outcome of the event's referral code, if any.
	Attribution *refx.AttributionResult `json:"attribution,omitempty"`
	Error       *ErrorDetail            `json:"error,omitempty"`
}

// recordEvents records up to refx.MaxBatch events. The whole batch is
// validated before anything is written; then each event is recorded on its
// own (exactly once, like a single event), concurrently, and the answer
// lists each outcome in order. A client retries the failed ones with the
// same ids.
func (s *Server) recordEvents(w http.ResponseWriter, r *http.Request) error {
	var req BatchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.validate(s); err != nil {
		return err
	}
	results := make([]BatchItemResult, len(req.Events))
	var wg sync.WaitGroup
	for i := range req.Events {
		wg.Go(func() {
			res, err := s.record(r, &req.Events[i])
			if err != nil {
				if refx.ErrorCode(err) == refx.EINTERNAL {
					logger(r.Context()).ErrorContext(r.Context(), "internal error", "event", req.Events[i].ID, "err", err)
				}
				d := errorDetail(r.Context(), err)
				results[i] = BatchItemResult{ID: req.Events[i].ID, Error: &d}
				return
			}
			results[i] = BatchItemResult{ID: res.ID, Status: res.Status, Credits: res.Credits, Attribution: res.Attribution}
		})
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

// record records one event, first attributing its user when it carries a
// referral code. Both steps are idempotent, so a retry after a failure in
// the second redoes nothing of the first.
func (s *Server) record(r *http.Request, e *refx.Event) (*refx.EventResult, error) {
	e.Trusted = callerOf(r.Context()).trusted()
	var attribution *refx.AttributionResult
	if e.ReferralCode != "" && s.Referrals != nil {
		var err error
		attribution, err = s.attribute(r, e.ReferralCode, e.User, "", "", e.RefereeIP, "")
		switch refx.ErrorCode(err) {
		case "":
		case refx.ENOTFOUND:
			attribution = &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{refx.ReasonUnknownCode}}
		default:
			return nil, err
		}
	}
	res, err := s.Events.RecordEvent(r.Context(), e)
	if err != nil {
		return nil, err
	}
	if res.Status == refx.EventRecorded {
		s.metric(r.Context(), MetricCappedValues, cappedCredits(res.Credits))
	}
	res.Attribution = attribution
	return res, nil
}

// cappedCredits counts the credits whose goal's cap lowered the value.
func cappedCredits(cs []refx.Credit) int {
	n := 0
	for _, c := range cs {
		if c.Capped {
			n++
		}
	}
	return n
}
