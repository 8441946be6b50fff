package stats

import (
	"fmt"
	"strconv"
)

// formatCount renders n with thousands separators, e.g. 12345 → "12,345".
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := false
	if n < 0 {
		neg, s = true, s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func srmVerdict() Verdict {
	return Verdict{Code: VerdictSRM, Text: "sample ratio mismatch: do not trust these results"}
}

func insufficientVerdict(variant, control, metric string) Verdict {
	return Verdict{Code: VerdictInsufficientData, Text: fmt.Sprintf("not enough data yet to compare %s with %s on %s", variant, control, metric)}
}

func winnerVerdict(variant, control, metric string) Verdict {
	return Verdict{Code: VerdictWinner, Text: fmt.Sprintf("%s beats %s on %s", variant, control, metric)}
}

func loserVerdict(variant, control, metric string) Verdict {
	return Verdict{Code: VerdictLoser, Text: fmt.Sprintf("%s beats %s on %s", control, variant, metric)}
}

// inconclusiveVerdict builds the "no detectable difference" sentence. more is
// the additional units per arm (nil if not estimable; rounded to two
// significant digits in the text); target is the configured target lift, if any.
func inconclusiveVerdict(variant, control, metric, unit string, more *int64, target *float64) Verdict {
	text := fmt.Sprintf("no detectable difference between %s and %s on %s yet", variant, control, metric)
	switch {
	case more == nil:
	case *more > 0:
		text += fmt.Sprintf(", ~%s more %s per arm needed", formatCount(roundSignificant(*more, 2)), unit)
		if target != nil {
			text += fmt.Sprintf(" to detect a %s lift", formatPercent(*target))
		}
	case target != nil:
		text += fmt.Sprintf("; the experiment already has enough %s to detect a %s lift", unit, formatPercent(*target))
	}
	return Verdict{Code: VerdictInconclusive, Text: text}
}

// formatPercent renders a relative lift such as 0.05 as "5%" (up to two decimals).
func formatPercent(x float64) string {
	s := strconv.FormatFloat(x*100, 'f', 2, 64)
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s + "%"
}

// roundSignificant rounds n (> 0) to the nearest number with the given count
// of significant digits, e.g. 1,408,053 → 1,400,000 for 2 digits (the
// sentence says "~N"; the exact value is in AdditionalUnitsPerArm).
func roundSignificant(n int64, digits int) int64 {
	var scale int64 = 1
	limit := int64(1)
	for i := 0; i < digits; i++ {
		limit *= 10
	}
	for n/scale >= limit {
		scale *= 10
	}
	return (n + scale/2) / scale * scale
}

// belowMinimumVerdict says how many more units each arm needs before the
// metric's minimum sample allows a verdict.
func belowMinimumVerdict(variant, control, metric, unit string, short, minimum int64) Verdict {
	return Verdict{Code: VerdictInsufficientData, Text: fmt.Sprintf("not enough data yet to compare %s with %s on %s: %s more %s per arm needed before a verdict (minimum %s per arm)",
		variant, control, metric, formatCount(short), unit, formatCount(minimum))}
}

// worsenBy renders "worsen signup" or "worsen signup by more than 2%".
func worsenBy(metric string, margin float64) string {
	if margin == 0 {
		return "worsen " + metric
	}
	return fmt.Sprintf("worsen %s by more than %s", metric, formatPercent(margin))
}

func guardrailOKVerdict(variant, control, metric string, margin float64) Verdict {
	return Verdict{Code: VerdictGuardrailOK, Text: fmt.Sprintf("%s does not %s compared with %s", variant, worsenBy(metric, margin), control)}
}

func guardrailViolatedVerdict(variant, control, metric string) Verdict {
	return Verdict{Code: VerdictGuardrailViolated, Text: fmt.Sprintf("%s worsens the guardrail %s compared with %s", variant, metric, control)}
}

// guardrailInconclusiveVerdict: neither non-inferiority nor harm shown yet.
func guardrailInconclusiveVerdict(variant, metric, unit string, margin float64, more *int64) Verdict {
	text := fmt.Sprintf("not yet shown that %s does not %s", variant, worsenBy(metric, margin))
	if more != nil && *more > 0 {
		text += fmt.Sprintf(", ~%s more %s per arm needed", formatCount(roundSignificant(*more, 2)), unit)
	}
	return Verdict{Code: VerdictInconclusive, Text: text}
}
