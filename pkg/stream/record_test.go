package stream_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/stream"
)

func TestChangeOf(t *testing.T) {
	ttl := &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	old := map[string]events.DynamoDBAttributeValue{"entity": events.NewStringAttribute("event")}
	tests := []struct {
		name    string
		rec     events.DynamoDBEventRecord
		want    stream.Change
		wantErr bool
	}{
		{"Insert", events.DynamoDBEventRecord{EventName: "INSERT"}, stream.Insert, false},
		{"Modify", events.DynamoDBEventRecord{EventName: "MODIFY"}, stream.Modify, false},
		{"RemoveByRequest", events.DynamoDBEventRecord{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: old}}, stream.Remove, false},
		{"RemoveByOtherService", events.DynamoDBEventRecord{EventName: "REMOVE", UserIdentity: &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "example.com"}}, stream.Remove, false},
		{"ExpireAWS", events.DynamoDBEventRecord{EventName: "REMOVE", UserIdentity: ttl, Change: events.DynamoDBStreamRecord{OldImage: old}}, stream.Expire, false},
		// DynamoDB Local: an event name outside the SDK's enum, no identity,
		// only the old image.
		{"ExpireDynamoDBLocal", events.DynamoDBEventRecord{EventName: "EXPIRE", Change: events.DynamoDBStreamRecord{OldImage: old}}, stream.Expire, false},
		{"ErrUnknownWithNewImage", events.DynamoDBEventRecord{EventName: "UPSERT", Change: events.DynamoDBStreamRecord{NewImage: old}}, 0, true},
		{"ErrUnknownWithIdentity", events.DynamoDBEventRecord{EventName: "EXPIRE", UserIdentity: ttl, Change: events.DynamoDBStreamRecord{OldImage: old}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stream.ChangeOf(&tt.rec)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ChangeOf = %v, %v; want %v (error %t)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
