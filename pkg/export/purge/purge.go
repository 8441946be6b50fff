// Package purge rewrites the exported Parquet files without the rows of
// erased users: the job that makes an erasure (DELETE /v1/users/{user})
// reach S3, where the Athena views only hide the rows.
//
// It reads the erasures table (ids by SHA-256, with the stream time of
// their erasure), then every object of the tables that name users, and
// writes back each object that holds a row of an erased id streamed up to
// its erasure: without the row when the id is the row's subject (an
// event's or credit's or assignment's user, a code's referrer, a click's
// visitor, an attribution's referee), with refx.ErasedName in place of the
// id when it only names someone else's referrer or linked_from. An object
// left empty is deleted. The rules are those of the *_unique views, so
// the views answer the same before and after a purge.
//
// Objects keep their keys. A Lambda retry of an export batch within the
// stream's 24 hours can write an object again with the rows: the views
// keep hiding them, and the next run (daily) removes them. It reads
// Parquet with parquet-go, which the exporter Lambda does not link.
package purge

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/refx"
)

// Client is the part of the S3 API the purge uses; *s3.Client implements it.
type Client interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ Client = (*s3.Client)(nil)

// Config says where the export is.
type Config struct {
	S3     Client
	Bucket string
	// Prefix is the exporter's key prefix ("" or ending in "/").
	Prefix string
}

// Report says what a run did.
type Report struct {
	// ErasedIDs is the number of erased ids read from the erasures table.
	ErasedIDs int
	// Objects were read, Rewritten written back smaller, Deleted left empty.
	Objects, Rewritten, Deleted int
	// Dropped rows were an erased id's; Replaced values named one.
	Dropped, Replaced int
}

// erased maps an id's hash to the stream time through which its rows go.
type erased map[string]time.Time

// gone reports whether the row of id streamed at is an erased id's.
func (e erased) gone(id string, at time.Time) bool {
	through, ok := e[refx.ErasureHash(id)]
	return ok && !at.After(through)
}

// replace puts refx.ErasedName in place of an erased id.
func (e erased) replace(id **string, at time.Time) int {
	if *id == nil || !e.gone(**id, at) {
		return 0
	}
	name := refx.ErasedName
	*id = &name
	return 1
}

// rewrite is one table's rule: keep reports whether a row stays, after
// replacing the ids it only mentions (counted in replaced).
type rewrite struct {
	table *export.Table
	apply func(body []byte, e erased) (rows []any, dropped, replaced int, err error)
}

func rule[T any](t *export.Table, keep func(row *T, e erased) (bool, int)) rewrite {
	return rewrite{table: t, apply: func(body []byte, e erased) ([]any, int, int, error) {
		rows, err := parquet.Read[T](bytes.NewReader(body), int64(len(body)))
		if err != nil {
			return nil, 0, 0, err
		}
		out := make([]any, 0, len(rows))
		dropped, replaced := 0, 0
		for i := range rows {
			ok, n := keep(&rows[i], e)
			replaced += n
			if !ok {
				dropped++
				continue
			}
			out = append(out, rows[i])
		}
		return out, dropped, replaced, nil
	}}
}

// rewrites are the tables that name users, with the views' rules.
var rewrites = []rewrite{
	rule(export.Events, func(r *export.EventRow, e erased) (bool, int) { return !e.gone(r.UserID, r.StreamedAt), 0 }),
	rule(export.Credits, func(r *export.CreditRow, e erased) (bool, int) {
		return !e.gone(r.UserID, r.StreamedAt), e.replace(&r.Referrer, r.StreamedAt)
	}),
	rule(export.Assignments, func(r *export.AssignmentRow, e erased) (bool, int) {
		return !e.gone(r.UserID, r.StreamedAt), e.replace(&r.LinkedFrom, r.StreamedAt)
	}),
	rule(export.Referrals, func(r *export.ReferralRow, e erased) (bool, int) { return !e.gone(r.Referrer, r.StreamedAt), 0 }),
	rule(export.Refunds, func(r *export.RefundRow, e erased) (bool, int) { return !e.gone(r.UserID, r.StreamedAt), 0 }),
	rule(export.Clicks, func(r *export.ClickRow, e erased) (bool, int) { return !e.gone(r.Visitor, r.StreamedAt), 0 }),
	rule(export.Attributions, func(r *export.AttributionRow, e erased) (bool, int) {
		return !e.gone(r.Referee, r.StreamedAt), e.replace(&r.Referrer, r.StreamedAt)
	}),
}

// Run purges the export of every erased id. Running it again rewrites
// nothing.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{}
	ids := erased{}
	err := each(ctx, cfg, export.Erasures, func(_ string, body []byte) error {
		rows, err := parquet.Read[export.ErasureRow](bytes.NewReader(body), int64(len(body)))
		for _, r := range rows {
			if r.StreamedAt.After(ids[r.UserHash]) {
				ids[r.UserHash] = r.StreamedAt
			}
		}
		return err
	})
	if err != nil || len(ids) == 0 {
		return rep, err
	}
	rep.ErasedIDs = len(ids)
	for _, rw := range rewrites {
		err := each(ctx, cfg, rw.table, func(key string, body []byte) error {
			rep.Objects++
			rows, dropped, replaced, err := rw.apply(body, ids)
			if err != nil || dropped+replaced == 0 {
				return err
			}
			rep.Dropped, rep.Replaced = rep.Dropped+dropped, rep.Replaced+replaced
			if len(rows) == 0 {
				rep.Deleted++
				_, err := cfg.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(key)})
				return err
			}
			out, err := rw.table.Encode(rows)
			if err != nil {
				return err
			}
			rep.Rewritten++
			_, err = cfg.S3.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(cfg.Bucket), Key: aws.String(key), Body: bytes.NewReader(out),
				ContentType: aws.String("application/vnd.apache.parquet"),
			})
			return err
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// each hands fn the key and bytes of every object of table.
func each(ctx context.Context, cfg Config, table *export.Table, fn func(key string, body []byte) error) error {
	p := s3.NewListObjectsV2Paginator(cfg.S3, &s3.ListObjectsV2Input{
		Bucket: aws.String(cfg.Bucket), Prefix: aws.String(cfg.Prefix + table.Name + "/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("purge: list %s: %w", table.Name, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			body, err := export.GetObject(ctx, cfg.S3, cfg.Bucket, key)
			if err != nil {
				return fmt.Errorf("purge: %w", err)
			}
			if err := fn(key, body); err != nil {
				return fmt.Errorf("purge: %s: %w", key, err)
			}
		}
	}
	return nil
}
