package refx_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// fingerprintBase is a payload with every field set, so that each case below
// changes one field away from a non-zero value or clears it.
func fingerprintBase(t *testing.T) refx.Event {
	t.Helper()
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	v := mustDecimal(t, "12.5")
	return refx.Event{
		ID: "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90", Type: "purchase", User: "u-42", Value: &v, OccurredAt: &at,
		Properties:   map[string]any{"plan": "pro", "seats": 3.0, "tags": []any{"a", "b"}, "meta": map[string]any{"source": "ad"}},
		ReferralCode: "K7Q2M9XA",
	}
}

func mustDecimal(t *testing.T, s string) refx.Decimal {
	t.Helper()
	d, err := refx.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFingerprint: the fingerprint decides between "retry" (200 duplicate)
// and "key reused for another event" (422), so every field of the payload
// must change it, one at a time, and what is not payload (the id, the
// encoding of an equal value) must not.
func TestFingerprint(t *testing.T) {
	changes := []struct {
		name  string
		field string // the Event field the case changes
		edit  func(t *testing.T, e *refx.Event)
	}{
		{"Type", "Type", func(t *testing.T, e *refx.Event) { e.Type = "signup" }},
		{"User", "User", func(t *testing.T, e *refx.Event) { e.User = "u-43" }},
		{"Value", "Value", func(t *testing.T, e *refx.Event) { v := mustDecimal(t, "12.51"); e.Value = &v }},
		{"ValueSign", "Value", func(t *testing.T, e *refx.Event) { v := mustDecimal(t, "-12.5"); e.Value = &v }},
		{"ValueZero", "Value", func(t *testing.T, e *refx.Event) { v := mustDecimal(t, "0"); e.Value = &v }},
		{"ValueAbsent", "Value", func(t *testing.T, e *refx.Event) { e.Value = nil }},
		{"OccurredAt", "OccurredAt", func(t *testing.T, e *refx.Event) { at := e.OccurredAt.Add(time.Second); e.OccurredAt = &at }},
		{"OccurredAtNanosecond", "OccurredAt", func(t *testing.T, e *refx.Event) { at := e.OccurredAt.Add(time.Nanosecond); e.OccurredAt = &at }},
		{"OccurredAtAbsent", "OccurredAt", func(t *testing.T, e *refx.Event) { e.OccurredAt = nil }},
		{"PropertyValue", "Properties", func(t *testing.T, e *refx.Event) { e.Properties["plan"] = "team" }},
		{"PropertyType", "Properties", func(t *testing.T, e *refx.Event) { e.Properties["seats"] = "3" }},
		{"PropertyAdded", "Properties", func(t *testing.T, e *refx.Event) { e.Properties["coupon"] = "X" }},
		{"PropertyRemoved", "Properties", func(t *testing.T, e *refx.Event) { delete(e.Properties, "plan") }},
		{"PropertyRenamed", "Properties", func(t *testing.T, e *refx.Event) {
			e.Properties["Plan"] = e.Properties["plan"]
			delete(e.Properties, "plan")
		}},
		{"PropertyNested", "Properties", func(t *testing.T, e *refx.Event) { e.Properties["meta"] = map[string]any{"source": "mail"} }},
		{"PropertyListOrder", "Properties", func(t *testing.T, e *refx.Event) { e.Properties["tags"] = []any{"b", "a"} }},
		{"PropertiesAbsent", "Properties", func(t *testing.T, e *refx.Event) { e.Properties = nil }},
		{"ReferralCode", "ReferralCode", func(t *testing.T, e *refx.Event) { e.ReferralCode = "K7Q2M9XB" }},
		{"ReferralCodeAbsent", "ReferralCode", func(t *testing.T, e *refx.Event) { e.ReferralCode = "" }},
		{"Refund", "Refund", func(t *testing.T, e *refx.Event) { e.Refund = "0b7e3c1d-5a6f-4e2b-9c8d-1f2e3d4c5b6a" }},
	}
	same := []struct {
		name string
		edit func(t *testing.T, e *refx.Event)
	}{
		{"ID", func(t *testing.T, e *refx.Event) { e.ID = "0b7e3c1d-5a6f-4e2b-9c8d-1f2e3d4c5b6a" }},
		// Trust is how the event came, not what it says: the browser's copy
		// of an event the backend sent with a secret key is a duplicate,
		// not a reused key (see dynamo.Store.RecordEvent).
		{"Trusted", func(t *testing.T, e *refx.Event) { e.Trusted = !e.Trusted }},
		// The referee's address is guard data of the request, like trust.
		{"RefereeIP", func(t *testing.T, e *refx.Event) { e.RefereeIP = "203.0.113.7" }},
		{"ValueTrailingZeros", func(t *testing.T, e *refx.Event) { v := mustDecimal(t, "12.5000"); e.Value = &v }},
		{"OccurredAtOtherZone", func(t *testing.T, e *refx.Event) {
			at := e.OccurredAt.In(time.FixedZone("X", 3600))
			e.OccurredAt = &at
		}},
		{"PropertiesRebuilt", func(t *testing.T, e *refx.Event) {
			// Another map with the same entries, built in another order.
			e.Properties = map[string]any{"tags": []any{"a", "b"}, "meta": map[string]any{"source": "ad"}, "seats": 3.0, "plan": "pro"}
		}},
	}

	// Every field of Event but the id, the trust and the referee's address
	// is payload: a field added to Event without a case here (and in
	// Fingerprint) fails this test.
	covered := map[string]bool{"ID": true, "Trusted": true, "RefereeIP": true}
	for _, c := range changes {
		covered[c.field] = true
	}
	for f := range reflect.TypeFor[refx.Event]().Fields() {
		if !covered[f.Name] {
			t.Errorf("Event.%s: no case changes it; add one and make sure Fingerprint includes it", f.Name)
		}
	}

	base := fingerprintBase(t)
	want := base.Fingerprint()
	if base.Fingerprint() != want {
		t.Fatal("the fingerprint of one event is not stable")
	}
	seen := map[string]string{}
	for _, c := range changes {
		t.Run("Differs/"+c.name, func(t *testing.T) {
			e := fingerprintBase(t)
			c.edit(t, &e)
			got := e.Fingerprint()
			if got == want {
				t.Fatalf("changing %s keeps the fingerprint: a reused key would be taken for a retry", c.field)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("the %s and %s changes fingerprint equally", other, c.name)
			}
			seen[got] = c.name
		})
	}
	for _, c := range same {
		t.Run("Equal/"+c.name, func(t *testing.T) {
			e := fingerprintBase(t)
			c.edit(t, &e)
			if got := e.Fingerprint(); got != want {
				t.Fatalf("%s changes the fingerprint: a retry would be refused as a reused key", c.name)
			}
		})
	}
}
