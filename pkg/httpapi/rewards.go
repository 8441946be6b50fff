package httpapi

import (
	"bytes"
	"io"
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// The admin routes of the rewards ledger. Rewards are created from the
// table's stream; these routes list them and move them: approve, reject,
// issue (with the shop's reference of the payout) and reverse. A shop's
// backend may approve, issue and reverse with its secret key
// (adminOrSecret), the actor of the change being the key.

// rewards is the ledger: the referral store keeps it.
func (s *Server) rewards() (refx.RewardService, error) {
	rs, ok := s.Referrals.(refx.RewardService)
	if !ok {
		return nil, refx.Errorf(refx.EINTERNAL, "the referral store keeps no rewards")
	}
	return rs, nil
}

func (s *Server) listRewards(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.rewards()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	f := refx.RewardFilter{Status: q.Get("status"), Beneficiary: q.Get("beneficiary"), Experiment: q.Get("experiment"), Limit: limit, Cursor: q.Get("cursor")}
	if err := f.Validate(); err != nil {
		return err
	}
	page, err := rs.Rewards(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getReward(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.rewards()
	if err != nil {
		return err
	}
	reward, err := rs.Reward(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reward)
	return nil
}

// moveReward answers POST /v1/rewards/{id}/<action>, whose body, optional
// but for an issue, is {"reference", "note"}.
func (s *Server) moveReward(action refx.RewardAction) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rs, err := s.rewards()
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			return decodeError(err)
		}
		var m refx.RewardMove
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := decodeBody(bytes.NewReader(raw), &m); err != nil {
				return err
			}
		}
		m.Action = action
		if err := m.Validate(); err != nil {
			return err
		}
		reward, err := rs.MoveReward(r.Context(), r.PathValue("id"), m)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, reward)
		return nil
	}
}
