package cloudwatch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// BenchmarkDescribeAlarmsCBOR measures one SDK DescribeAlarms call over
// Smithy RPC v2 CBOR returning a page of 50 alarms.
func BenchmarkDescribeAlarmsCBOR(b *testing.B) {
	e := newEnv(b)
	for i := range 60 {
		e.putAlarm(b, fmt.Sprintf("alarm-%03d", i))
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{MaxRecords: aws.Int32(50)})
		if err != nil || len(out.MetricAlarms) != 50 {
			b.Fatalf("%v, %d alarms", err, len(out.MetricAlarms))
		}
	}
}
