package export_test

import (
	"net/http"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestExportRefunds: a refunded event gives one row of the refunds table,
// however many refunds name it, and the conversion change the refund made
// lands nowhere, not even in export_errors.
func TestExportRefunds(t *testing.T) {
	st := MustStack(t, stackOptions{})
	create := `{"id":"refunded","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"purchase","kind":"value"}]}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := st.Call(t, "POST", "/v1/experiments/refunded/start", "", nil); code != http.StatusOK {
		t.Fatalf("start: %d", code)
	}
	ctx := t.Context()
	if _, err := st.Store.Assign(ctx, "refunded", "buyer", nil); err != nil {
		t.Fatal(err)
	}
	value, _ := refx.ParseDecimal("25")
	buy := &refx.Event{ID: "7d444840-9dc0-11d1-b245-5ffdce74fad2", Type: "purchase", User: "buyer", Value: &value, Trusted: true}
	if _, err := st.Store.RecordEvent(ctx, buy); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"8d444840-9dc0-11d1-b245-5ffdce74fad2", "9d444840-9dc0-11d1-b245-5ffdce74fad2"} {
		r := &refx.Event{ID: id, Type: refx.EventRefund, User: "buyer", Refund: buy.ID, Trusted: true}
		if _, err := st.Store.RecordEvent(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	st.Drain(t)
	rows := readRows[export.RefundRow](t, st, export.Refunds)
	if len(rows) != 1 {
		t.Fatalf("%d refund rows, want 1: %+v", len(rows), rows)
	}
	if r := rows[0]; r.RefundID != "8d444840-9dc0-11d1-b245-5ffdce74fad2" || r.RefundedEvent != buy.ID || r.UserID != "buyer" || r.Type != "purchase" {
		t.Errorf("refund row %+v", r)
	}
	if errs := readRows[export.ErrorRow](t, st, export.Errors); len(errs) != 0 {
		t.Errorf("export errors: %+v", errs)
	}
}
