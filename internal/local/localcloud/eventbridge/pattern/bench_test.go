package pattern

import "testing"

func BenchmarkMatch(b *testing.B) {
	p, err := Parse([]byte(`{"source":["aws.ecs"],"detail-type":["ECS Deployment State Change"],"detail":{"eventName":["SERVICE_DEPLOYMENT_COMPLETED","SERVICE_DEPLOYMENT_FAILED"]}}`))
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte(`{"version":"0","id":"1","detail-type":"ECS Deployment State Change","source":"aws.ecs","account":"123456789012","time":"2026-03-01T12:00:00Z","region":"us-east-1","resources":["arn:aws:ecs:us-east-1:123456789012:service/c/web"],"detail":{"eventType":"INFO","eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/123","updatedAt":"2026-03-01T12:00:00Z","reason":"done"}}`)
	for range b.N {
		ok, err := p.Match(ev)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
