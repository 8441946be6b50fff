// Package analysis reads an experiment's exact counts (refx.Results) with the
// statistics engine (package stats): it maps each goal, and each referral
// funnel measure, to a stats metric with its sufficient statistics, runs one
// stats.Analyze over all of them, and plans sample sizes with stats.Power. It
// is pure computation: no I/O, no AWS.
//
// # Metrics
//
// Every goal gives a conversion rate: a binomial metric whose unit is the
// participant (N = participants, Σy = Σy² = users, the participants who
// converted at least once). The count is exact, and so is the binomial
// variance p(1−p).
//
// A value goal also gives the value per participant, a mean metric whose
// unit is the participant: y is a participant's total value on the goal
// (0 for those without a valued event), N = participants, Σy = value_sum and
// Σy² = value_participant_sum_sq, the Σ over participants of (their total
// value)² that the store keeps exactly. Mean and variance are both exact,
// however many events each participant makes. value_sum_sq (Σ value² over
// events) is not used: it equals Σy² only when nobody has two valued events,
// and misses the cross terms 2·v·v′ of each participant's pairs of events
// otherwise. We chose this over a value-per-event metric (N = events)
// because events are not the randomised unit: they cluster within
// participants and their number depends on the variant, so a change in value
// per event does not say whether a variant earns more.
//
// Every metric's Variance is therefore VarianceExact. The field stays in the
// API so that a metric whose variance could only be approximated can be
// labelled, should one be added. Counts that no data can produce (a sum of
// squares below (Σy)²/N, more converted units than units) leave their metric
// without inference, with a note, and the others analysed.
//
// Referral experiments add five metrics whose unit is the referrer (a
// participant who asked for a link), from the per-referrer sums of squares the
// store keeps exactly: share rate (binomial: sharing_referrers / referrers),
// K = signups per referrer, referee conversions per referrer and referee
// conversion value per referrer (mean metrics, Σy² from per_referrer), and
// signups per click (ratio metric, y = signups and x = clicks per referrer,
// delta method with clicks_sum_sq and clicks_x_signups). Per-referrer metrics
// compare the referrers of each variant; that is a randomised comparison only
// if the variant cannot change who becomes a referrer (the offer is shown when
// the link is made, as POST /v1/referrals does). If the offer is shown earlier
// and changes who asks for a link, compare share rates and per-participant
// goals instead.
//
// A ratio metric of the experiment (refx.RatioMetric) is Σa / Σb over
// participants, a and b a participant's totals of its numerator and
// denominator goals (a value goal's total value, a binomial goal's number
// of events), analysed with the delta method from the exact Σa, Σa², Σb,
// Σb² and Σab the store keeps per arm (refx.RatioCounts). Results without
// those sums leave it without inference, with a note.
//
// # Decisions and families
//
// Each goal's refx.Decision is mapped onto its metrics (conversion rate and
// value per participant alike): role, direction (LowerIsBetter for
// decrease), minimum sample per arm, one-sidedness and, for a guardrail,
// its relative non-inferiority margin; defaults are
// refx.Experiment.Decisions' (the first goal primary when none is). The
// referral metrics take refx.Experiment.ReferralDecision's: secondary and
// increasing unless the referral configuration says otherwise. All metrics are
// analysed in one stats.Analyze call, and stats corrects each role's
// comparisons as its own family (Holm by default): adding a secondary goal
// or a guardrail never changes a primary metric's verdict.
//
// # Sample ratio mismatch
//
// The check compares participants with the variants' current weights. Weights
// may change while an experiment runs; after such a change the expected
// split is no longer the current weights, and the check may flag a mismatch
// that is only the change.
package analysis
