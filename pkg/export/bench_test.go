package export_test

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
)

// benchBatch is a stream batch of n event inserts as Lambda delivers them,
// each with a random-looking UUID, a value, properties and one credit: the
// exporter's main load.
func benchBatch(n int) events.DynamoDBEvent {
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	str := events.NewStringAttribute
	recs := make([]events.DynamoDBEventRecord, n)
	for i := range recs {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		id := fmt.Sprintf("%x-%x-4%x-8%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])[:36]
		at := base.Add(time.Duration(i) * time.Millisecond)
		recs[i] = events.DynamoDBEventRecord{
			EventID: fmt.Sprintf("rec-%d", i), EventName: "INSERT", EventSource: "aws:dynamodb", AWSRegion: "eu-west-1",
			Change: events.DynamoDBStreamRecord{
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: at.Truncate(time.Second)},
				SequenceNumber:              fmt.Sprintf("44215845%020d", i),
				Keys:                        map[string]events.DynamoDBAttributeValue{"pk": str("EVENT#" + id), "sk": str("EVENT")},
				NewImage: map[string]events.DynamoDBAttributeValue{
					"pk": str("EVENT#" + id), "sk": str("EVENT"), "entity": str("event"),
					"id": str(id), "type": str([]string{"signup", "purchase", "invite_sent"}[i%3]),
					"user": str(fmt.Sprintf("user-%05d", i%5000)), "value": str(fmt.Sprintf("%d.%02d", i%500, i%100)),
					"occurred_at": str(at.Format(time.RFC3339Nano)), "received_at": str(at.Format(time.RFC3339Nano)),
					"properties": str(`{"plan":"pro","source":"email"}`), "fingerprint": str("0123456789abcdef0123456789abcdef"),
					"ttl": events.NewNumberAttribute("1767830400"),
					"credits": events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
						"experiment": str("cta"), "variant": str([]string{"control", "bold"}[i%2]), "first_conversion": events.NewBooleanAttribute(i%7 == 0),
					})}),
				},
				StreamViewType: "NEW_AND_OLD_IMAGES",
			},
		}
	}
	return events.DynamoDBEvent{Records: recs}
}

// BenchmarkEncode measures the exporter in-process: stream images decoded
// into rows and encoded as Zstd Parquet, no I/O. It reports rows/s (event
// and credit rows) and the Parquet bytes per row.
//
//	go test -run '^$' -bench Encode -benchtime 20x ./pkg/export
func BenchmarkEncode(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			ev := benchBatch(n)
			x, err := export.New(export.Config{S3: nopPutter{}, Bucket: "bench", Logger: lakefixture.Discard})
			if err != nil {
				b.Fatal(err)
			}
			var rows, size int
			b.ReportAllocs()
			for b.Loop() {
				batch, err := x.Encode(ev)
				if err != nil {
					b.Fatal(err)
				}
				rows, size = batch.Rows, 0
				for _, o := range batch.Objects {
					size += len(o.Body)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(size)/float64(rows), "bytes/row")
		})
	}
}

// nopPutter is never called: Encode writes nothing.
type nopPutter struct{ export.ObjectPutter }
