package refx_test

import (
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestRewardAmount(t *testing.T) {
	for _, c := range []struct {
		name  string
		rule  refx.RewardRule
		value string // "" for a signup
		want  string // "" for nothing to pay
	}{
		{"Fixed", refx.RewardRule{Amount: "10.00", Currency: "USD"}, "", "10"},
		{"FixedIgnoresValue", refx.RewardRule{Amount: "10", Currency: "USD"}, "999", "10"},
		{"PercentRoundsDownToCents", refx.RewardRule{Percent: "10", Currency: "USD"}, "19.99", "1.99"},
		{"PercentExact", refx.RewardRule{Percent: "12.5", Currency: "EUR"}, "80", "10"},
		{"PercentYenHasNoMinorUnit", refx.RewardRule{Percent: "3", Currency: "JPY"}, "1999", "59"},
		{"PercentDinarHasThree", refx.RewardRule{Percent: "10", Currency: "KWD"}, "1.2345", "0.123"},
		{"PercentOfLargeValue", refx.RewardRule{Percent: "99.9999", Currency: "USD"}, "1000000000", "999999000"},
		{"PercentBelowOneCent", refx.RewardRule{Percent: "1", Currency: "USD"}, "0.5", ""},
		{"PercentOfNoValue", refx.RewardRule{Percent: "1", Currency: "USD"}, "", ""},
		{"PercentOfRefundValue", refx.RewardRule{Percent: "10", Currency: "USD"}, "-50", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v *refx.Decimal
			if c.value != "" {
				d, err := refx.ParseDecimal(c.value)
				if err != nil {
					t.Fatal(err)
				}
				v = &d
			}
			got, ok := c.rule.AmountFor(v)
			if (c.want == "") == ok || (ok && got.String() != c.want) {
				t.Fatalf("AmountFor(%s) = %s, %v; want %q", c.value, got, ok, c.want)
			}
		})
	}
}

func TestRewardQualifies(t *testing.T) {
	r := refx.RewardRule{MinValue: "20"}
	for v, want := range map[string]bool{"19.9999": false, "20": true, "250": true} {
		d, _ := refx.ParseDecimal(v)
		if got := r.Qualifies(&d); got != want {
			t.Errorf("Qualifies(%s) = %v", v, got)
		}
	}
	if r.Qualifies(nil) || !(&refx.RewardRule{}).Qualifies(nil) {
		t.Error("an event without a value meets only a rule without min_value")
	}
}

func TestRewardMoves(t *testing.T) {
	for _, c := range []struct {
		action   refx.RewardAction
		from, to string
		done     bool
		errCode  string
	}{
		{refx.RewardApprove, refx.RewardPending, refx.RewardApproved, false, ""},
		{refx.RewardApprove, refx.RewardApproved, refx.RewardApproved, true, ""},
		{refx.RewardApprove, refx.RewardIssued, "", false, refx.ECONFLICT},
		{refx.RewardIssue, refx.RewardPending, "", false, refx.ECONFLICT},
		{refx.RewardIssue, refx.RewardApproved, refx.RewardIssued, false, ""},
		{refx.RewardReject, refx.RewardApproved, refx.RewardRejected, false, ""},
		{refx.RewardReject, refx.RewardIssued, "", false, refx.ECONFLICT},
		{refx.RewardReverse, refx.RewardIssued, refx.RewardReversed, false, ""},
		{refx.RewardReverse, refx.RewardRejected, "", false, refx.ECONFLICT},
		{"pay", refx.RewardApproved, "", false, refx.EINVALID},
	} {
		to, done, err := c.action.Move(c.from)
		if to != c.to || done != c.done || refx.ErrorCode(err) != c.errCode {
			t.Errorf("%s from %s = %q, %v, %v; want %q, %v, %s", c.action, c.from, to, done, err, c.to, c.done, c.errCode)
		}
	}
}

func TestRewardID(t *testing.T) {
	q := refx.EventQualifying("7c9e6679-7425-40de-944b-e07fc1f90ae7")
	id := refx.RewardID(q, refx.RewardReferee)
	gotQ, role, err := refx.ParseRewardID(id)
	if err != nil || gotQ != q || role != refx.RewardReferee {
		t.Fatalf("ParseRewardID(%s) = %s, %s, %v", id, gotQ, role, err)
	}
	for _, bad := range []string{"", "!!", "Zm9v", refx.RewardID(q, "friend"), refx.RewardID("USER#x", refx.RewardReferrer)} {
		if _, _, err := refx.ParseRewardID(bad); refx.ErrorCode(err) != refx.EINVALID {
			t.Errorf("ParseRewardID(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestCurrencies(t *testing.T) {
	for code, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3, "CHF": 2} {
		if exp, ok := refx.CurrencyExponent(code); !ok || exp != want {
			t.Errorf("%s = %d, %v; want %d", code, exp, ok, want)
		}
	}
	for _, code := range []string{"usd", "XAU", "XTS", "BOV", "DEM", ""} {
		if _, ok := refx.CurrencyExponent(code); ok {
			t.Errorf("%q is not a currency a reward is paid in", code)
		}
	}
}
