package backfill

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/export"
)

// readExport reads the items of a DynamoDB export to S3 (DYNAMODB_JSON):
// manifest-files.json lists its data files, one JSON object a line, and
// each data file, gzipped, holds one {"Item": {...}} a line in the
// attribute-value JSON that Lambda's stream records use too. fn gets the
// items in range PageSize at a time.
func readExport(ctx context.Context, cfg Config, rep *Report, fn func([]events.DynamoDBEventRecord) error) error {
	manifest, err := export.GetObject(ctx, cfg.S3, cfg.ExportBucket, cfg.ExportPrefix+"manifest-files.json")
	if err != nil {
		return err
	}
	var files []string
	for i, line := range bytes.Split(manifest, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var f struct {
			Key string `json:"dataFileS3Key"`
		}
		if err := json.Unmarshal(line, &f); err != nil || f.Key == "" {
			return fmt.Errorf("backfill: %smanifest-files.json line %d names no dataFileS3Key (%v)", cfg.ExportPrefix, i+1, err)
		}
		files = append(files, f.Key)
	}
	for _, key := range files {
		cfg.Logger.InfoContext(ctx, "backfill: reading export file", "key", key, "items", rep.Items)
		if err := readExportFile(ctx, cfg, rep, key, fn); err != nil {
			return err
		}
		rep.Pages++
	}
	return nil
}

func readExportFile(ctx context.Context, cfg Config, rep *Report, key string, fn func([]events.DynamoDBEventRecord) error) error {
	obj, err := cfg.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(cfg.ExportBucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("backfill: get %s: %w", key, err)
	}
	defer obj.Body.Close()
	gz, err := gzip.NewReader(obj.Body)
	if err != nil {
		return fmt.Errorf("backfill: %s: %w", key, err)
	}
	r := bufio.NewReader(gz)
	var page []map[string]events.DynamoDBAttributeValue
	flush := func() error {
		err := fn(records(ctx, cfg, rep, page))
		page = page[:0]
		return err
	}
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var l struct {
				Item map[string]events.DynamoDBAttributeValue `json:"Item"`
			}
			if err := json.Unmarshal(line, &l); err != nil || l.Item == nil {
				return fmt.Errorf("backfill: %s line %d is no {\"Item\": …} (%v)", key, n, err)
			}
			rep.Items++
			if page = append(page, l.Item); len(page) == int(cfg.PageSize) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("backfill: %s: %w", key, err)
		}
	}
	return flush()
}
