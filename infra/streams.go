package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// wireStreams connects every function with a streamMapping to the table's
// stream, each with its own mapping ("<Name>Stream") and DLQ ("<Name>DLQ"),
// so that the exporter and the aggregator read the same records
// independently: one falling behind or given up on never holds the other.
func (s *service) wireStreams() error {
	for _, f := range functions {
		m := f.Stream
		if m == nil {
			continue
		}
		if !f.Access.Stream {
			return fmt.Errorf("function %s: a stream mapping needs Access.Stream", f.Name)
		}
		id := functionID(f.Name)
		dlq := awssqs.NewQueue(s.stack, jsii.String(id+"DLQ"), &awssqs.QueueProps{
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
			RemovalPolicy:   s.removal(),
		})
		props := &awslambda.EventSourceMappingProps{
			Target:                  s.functions[f.Name],
			EventSourceArn:          s.table.TableStreamArn(),
			StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:               jsii.Number(m.BatchSize),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(m.Window.Seconds())),
			BisectBatchOnError:      jsii.Bool(m.Bisect),
			ReportBatchItemFailures: jsii.Bool(true),
			ParallelizationFactor:   jsii.Number(m.Parallelization),
			OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
		}
		// The CDK's props accept only bounded values; unlimited (-1) is
		// set on the resource below, where it is explicit in the
		// template rather than left to a default.
		if m.RetryAttempts != unlimited {
			props.RetryAttempts = jsii.Number(m.RetryAttempts)
		}
		if m.MaxRecordAge != unlimited {
			props.MaxRecordAge = awscdk.Duration_Seconds(jsii.Number(m.MaxRecordAge.Seconds()))
		}
		mapping := awslambda.NewEventSourceMapping(s.stack, jsii.String(id+"Stream"), props)
		cfn := mapping.Node().DefaultChild().(awslambda.CfnEventSourceMapping)
		if m.RetryAttempts == unlimited {
			cfn.AddPropertyOverride(jsii.String("MaximumRetryAttempts"), unlimited)
		}
		if m.MaxRecordAge == unlimited {
			cfn.AddPropertyOverride(jsii.String("MaximumRecordAgeInSeconds"), unlimited)
		}
		s.dlqs[f.Name] = dlq
	}
	return nil
}
