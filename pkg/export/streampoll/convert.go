package streampoll

import (
	"cmp"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// LambdaRecord converts a record of the DynamoDB Streams API into the record
// Lambda delivers for it, with eventSourceARN set to streamARN.
func LambdaRecord(r *types.Record, streamARN, region string) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{
		AWSRegion:      cmp.Or(aws.ToString(r.AwsRegion), region),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    cmp.Or(aws.ToString(r.EventSource), "aws:dynamodb"),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamARN,
	}
	if id := r.UserIdentity; id != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	if d := r.Dynamodb; d != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys:           lambdaMap(d.Keys),
			NewImage:       lambdaMap(d.NewImage),
			OldImage:       lambdaMap(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber),
			SizeBytes:      aws.ToInt64(d.SizeBytes),
			StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: d.ApproximateCreationDateTime.UTC()}
		}
	}
	return out
}

// lambdaMap converts an image of the Streams API through the DynamoDB
// API's attribute values, so that one converter (LambdaImage) serves the
// stream and the table's items (the backfill). A value the SDK cannot
// convert, of a type it adds later, becomes NULL.
func lambdaMap(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	image := make(map[string]ddbtypes.AttributeValue, len(m))
	for k, v := range m {
		dv, err := attributevalue.FromDynamoDBStreams(v)
		if err != nil {
			dv = &ddbtypes.AttributeValueMemberNULL{Value: true}
		}
		image[k] = dv
	}
	return LambdaImage(image)
}

// LambdaImage converts an item of the DynamoDB API into an image of a
// Lambda stream record.
func LambdaImage(m map[string]ddbtypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

// lambdaValue converts one attribute value. Numbers stay decimal strings.
func lambdaValue(v ddbtypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			list[i] = lambdaValue(e)
		}
		return events.NewListAttribute(list)
	case *ddbtypes.AttributeValueMemberM:
		m := LambdaImage(v.Value)
		if m == nil {
			m = map[string]events.DynamoDBAttributeValue{}
		}
		return events.NewMapAttribute(m)
	}
	// NULL, and any type the SDK adds later.
	return events.NewNullAttribute()
}
