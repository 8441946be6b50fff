package dynamo_test

import (
	"context"
	"slices"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestSelfReferralGuards signs up one referee through each referrer's code,
// created with the hashes of the referrer's address, device and e-mail: a
// match on the address or the device is flagged for review, on the e-mail
// refused like equal ids; a match through the previous hash key (a code
// created before the key was rotated) counts the same.
func TestSelfReferralGuards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newReferralExperiment("self-ref"))
	owner := refx.CodeRequest{Experiment: e.ID, IPHash: "ip-owner", DeviceHash: "dev-owner", EmailHash: "mail-owner"}
	for _, tc := range []struct {
		name    string
		code    refx.CodeRequest // Experiment filled in; Referrer is the case's name
		sig     refx.Signup      // Code and Referee filled in
		status  string
		reasons []string
	}{
		{"SameIP", owner, refx.Signup{IPHash: "ip-owner"}, refx.AttributionFlagged, []string{refx.ReasonSelfReferralIP}},
		{"SameDevice", owner, refx.Signup{IPHash: "ip-x", Device: "dev-owner"}, refx.AttributionFlagged, []string{refx.ReasonSelfReferralDevice}},
		{"SameIPAndDevice", owner, refx.Signup{IPHash: "ip-owner", Device: "dev-owner"}, refx.AttributionFlagged, []string{refx.ReasonSelfReferralIP, refx.ReasonSelfReferralDevice}},
		{"SameEmail", owner, refx.Signup{IPHash: "ip-x", EmailHash: "mail-owner"}, refx.AttributionRefused, []string{refx.ReasonSelfReferral}},
		{"SameEmailWinsOverIP", owner, refx.Signup{IPHash: "ip-owner", EmailHash: "mail-owner"}, refx.AttributionRefused, []string{refx.ReasonSelfReferral}},
		{"Different", owner, refx.Signup{IPHash: "ip-x", Device: "dev-x", EmailHash: "mail-x"}, refx.AttributionAttributed, nil},
		{"NoEmailSent", owner, refx.Signup{IPHash: "ip-x"}, refx.AttributionAttributed, nil},
		{"LinkWithoutHashes", refx.CodeRequest{Experiment: e.ID}, refx.Signup{IPHash: "ip-owner", Device: "dev-owner", EmailHash: "mail-owner"}, refx.AttributionAttributed, nil},
		{"RotatedKeyIP", owner, refx.Signup{IPHash: "ip-new", PreviousIPHash: "ip-owner"}, refx.AttributionFlagged, []string{refx.ReasonSelfReferralIP}},
		{"RotatedKeyDevice", owner, refx.Signup{IPHash: "ip-x", Device: "dev-new", PreviousDevice: "dev-owner"}, refx.AttributionFlagged, []string{refx.ReasonSelfReferralDevice}},
		{"RotatedKeyEmail", owner, refx.Signup{IPHash: "ip-x", EmailHash: "mail-new", PreviousEmailHash: "mail-owner"}, refx.AttributionRefused, []string{refx.ReasonSelfReferral}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.code
			req.Referrer = "referrer-" + tc.name
			link, err := s.CreateCode(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			sig := tc.sig
			sig.Code, sig.Referee = link.Code, "referee-"+tc.name
			mustAttribute(t, s, sig, tc.status, tc.reasons...)
			// A retry finds the first answer: the stored refusal, or the
			// attribution as a duplicate with its reasons.
			again := refx.AttributionDuplicate
			if tc.status == refx.AttributionRefused {
				again = refx.AttributionRefused
			}
			mustAttribute(t, s, sig, again, tc.reasons...)
		})
	}

	// Flagged signups wait in the review queue.
	page, err := s.Reviews(ctx, e.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var queued []string
	for _, a := range page.Referrals {
		queued = append(queued, a.Referee)
	}
	slices.Sort(queued)
	want := []string{"referee-RotatedKeyDevice", "referee-RotatedKeyIP", "referee-SameDevice", "referee-SameIP", "referee-SameIPAndDevice"}
	if !slices.Equal(queued, want) {
		t.Fatalf("review queue = %v, want %v", queued, want)
	}

	// The aggregator counts each flag and refusal by its reason.
	var flaggedIP, flaggedDevice, refused, signups int64
	for _, v := range mustResults(t, s, e.ID) {
		r := v.Referral
		if r == nil {
			continue // no referrer drew this variant
		}
		flaggedIP += r.Flagged[refx.ReasonSelfReferralIP]
		flaggedDevice += r.Flagged[refx.ReasonSelfReferralDevice]
		refused += r.Refused[refx.ReasonSelfReferral]
		signups += r.Signups
	}
	if flaggedIP != 3 || flaggedDevice != 3 || refused != 3 || signups != 3 {
		t.Fatalf("counted %d flagged self_referral_ip, %d self_referral_device, %d refused self_referral, %d signups; want 3, 3, 3, 3",
			flaggedIP, flaggedDevice, refused, signups)
	}
}
