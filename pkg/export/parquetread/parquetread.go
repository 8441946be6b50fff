// Package parquetread reads the exported Parquet files back into their row
// types: what the jobs that rewrite the lake (the compaction, the backfill)
// share. It links parquet-go, which the export Lambda must not (package
// export's doc says why), so it stands apart from package export.
package parquetread

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
)

type rowType struct {
	typ  reflect.Type
	read func(body []byte) ([]any, error)
}

func of[T any]() rowType {
	return rowType{typ: reflect.TypeFor[T](), read: func(body []byte) ([]any, error) {
		rows, err := parquet.Read[T](bytes.NewReader(body), int64(len(body)))
		if err != nil {
			return nil, err
		}
		out := make([]any, len(rows))
		for i := range rows {
			out[i] = rows[i]
		}
		return out, nil
	}}
}

// rowTypes are the exported tables' row types; TestEveryTable holds them to
// export.Tables().
var rowTypes = map[*export.Table]rowType{
	export.Events:             of[export.EventRow](),
	export.Credits:            of[export.CreditRow](),
	export.Assignments:        of[export.AssignmentRow](),
	export.Experiments:        of[export.ExperimentRow](),
	export.ExperimentVariants: of[export.ExperimentVariantRow](),
	export.ExperimentGoals:    of[export.ExperimentGoalRow](),
	export.ExperimentRatios:   of[export.ExperimentRatioMetricRow](),
	export.Referrals:          of[export.ReferralRow](),
	export.Clicks:             of[export.ClickRow](),
	export.Attributions:       of[export.AttributionRow](),
	export.Errors:             of[export.ErrorRow](),
	export.Erasures:           of[export.ErasureRow](),
	export.Audit:              of[export.AuditRow](),
	export.Refunds:            of[export.RefundRow](),
}

// Rows reads a file of table t into rows of its type, boxed as
// export.Table.Encode takes them.
func Rows(t *export.Table, body []byte) ([]any, error) {
	r, ok := rowTypes[t]
	if !ok {
		return nil, fmt.Errorf("parquetread: no row type known for table %s", t.Name)
	}
	return r.read(body)
}

// RowType is the Go type of table t's rows.
func RowType(t *export.Table) (reflect.Type, bool) {
	r, ok := rowTypes[t]
	return r.typ, ok
}
