package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

const testTable = "pushdeploy-test"

// testCloud is a local cloud on a virtual clock, served over HTTP, with the
// pushdeploy table and one service "web" in cluster "prod".
type testCloud struct {
	url        string
	cfg        aws.Config
	clk        *clock.Virtual
	serviceARN string
	repoURI    string
	td1        string // web:1, the service's revision
}

func newCloud(t *testing.T) *testCloud {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv(envEndpoint, "")
	clk := clock.NewVirtual(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	lc, err := localcloud.New(localcloud.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	url, err := lc.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.Close() })
	c := &testCloud{url: url, clk: clk, cfg: aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}}
	ctx := context.Background()
	db := dynamodb.NewFromConfig(c.cfg)
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(testTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("create table: %v", err)
	}
	repo, err := ecr.NewFromConfig(c.cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	c.repoURI = aws.ToString(repo.Repository.RepositoryUri)
	client := ecs.NewFromConfig(c.cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), Cpu: aws.String("256"), Memory: aws.String("512"),
		NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String(c.repoURI + ":v1"), Essential: aws.Bool(true), Memory: aws.Int32(256),
				Environment: []ecstypes.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}}},
			{Name: aws.String("proxy"), Image: aws.String("public.ecr.aws/nginx/nginx:1.27"), Essential: aws.Bool(true), Memory: aws.Int32(128)},
		},
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("payments")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.td1 = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	svc, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(c.td1),
		DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		Tags:                 []ecstypes.Tag{{Key: aws.String("pushdeploy:repository"), Value: aws.String("web")}, {Key: aws.String("pushdeploy:containers"), Value: aws.String("app")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.serviceARN = aws.ToString(svc.Service.ServiceArn)
	return c
}

// run calls a subcommand against the cloud.
func (c *testCloud) run(t *testing.T, cmd command, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cmd(context.Background(), append(args, "--endpoint-url", c.url), &out, &errb)
	return code, out.String(), errb.String()
}

func (c *testCloud) push(t *testing.T, tag, seed string) string {
	t.Helper()
	digest, err := localrun.PushImage(context.Background(), ecr.NewFromConfig(c.cfg), "web", tag, seed)
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

func (c *testCloud) records(t *testing.T) []history.Record {
	t.Helper()
	hs, err := history.New(dynamodb.NewFromConfig(c.cfg), testTable, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs []history.Record
	for i, r := range []history.Record{
		{Action: "deploy", Trigger: "push", StartedBy: "ecr:evt-1", Outcome: history.Succeeded, FromRevision: "web:1", ToRevision: "web:2", Reason: "deployed v2",
			Images: []history.Image{{Container: "app", Image: c.repoURI + "@sha256:" + strings.Repeat("a", 64), Tag: "v2", Digest: "sha256:" + strings.Repeat("a", 64)}}},
		{Action: "deploy", Trigger: "push", StartedBy: "ecr:evt-2", Outcome: history.RolledBack, FromRevision: "web:2", ToRevision: "web:2", DeployedRevision: "web:3", Reason: "alarm web-5xx fired during the bake",
			Images: []history.Image{{Container: "app", Image: c.repoURI + "@sha256:" + strings.Repeat("b", 64), Tag: "v3", Digest: "sha256:" + strings.Repeat("b", 64)}}},
		{Action: "rollback", Trigger: "manual", StartedBy: "alice", Outcome: history.Skipped, FromRevision: "web:2", ToRevision: "web:2", Reason: "already-on-last-good: web:2"},
	} {
		r.Service, r.Cluster, r.ServiceName = c.serviceARN, "prod", "web"
		r.ExecutionARN = "arn:aws:states:us-east-1:123456789012:execution:pushdeploy:e" + string(rune('1'+i))
		r.StartedAt = start.Add(time.Duration(i) * time.Hour)
		r.FinishedAt = r.StartedAt.Add(time.Duration(90+i*60) * time.Second)
		for _, f := range []*string{&r.FromRevision, &r.ToRevision, &r.DeployedRevision} {
			if *f != "" {
				*f = "arn:aws:ecs:us-east-1:123456789012:task-definition/" + *f
			}
		}
		// As finish writes them: the record with its ledger change.
		fin := ledger.Finished{Execution: r.ExecutionARN, At: r.FinishedAt, Action: r.Action, Outcome: string(r.Outcome), Reason: r.Reason,
			From: r.FromRevision, Deployed: r.DeployedRevision, To: r.ToRevision, Undone: r.Outcome == history.RolledBack}
		if len(r.Images) > 0 {
			fin.Digest = r.Images[0].Digest
		}
		c, err := hs.Finish(context.Background(), r, func(l ledger.Ledger) ledger.Change { return l.ChangeOf(fin) })
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range c.Quarantine {
			r.Quarantined = append(r.Quarantined, q.Digest)
		}
		r.Released = c.Release
		recs = append(recs, r)
	}
	return recs
}

func TestHistoryCommand(t *testing.T) {
	c := newCloud(t)
	base := []string{"--cluster", "prod", "--service", "web", "--table", testTable}
	if code, out, _ := c.run(t, runHistory, append(base, "--output", "json")...); code != exitOK || out != "[]\n" {
		t.Errorf("no records, JSON: exit %d %q", code, out)
	}
	if code, out, _ := c.run(t, runHistory, base...); code != exitOK || out != "no deployment records\n" {
		t.Errorf("no records, text: exit %d %q", code, out)
	}
	recs := c.records(t)

	code, out, errs := c.run(t, runHistory, append(base, "--output", "json")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []history.Record
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	want := []history.Record{recs[2], recs[1], recs[0]} // newest first
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}

	code, out, _ = c.run(t, runHistory, append(base, "--output", "json", "--limit", "2")...)
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK || len(got) != 2 || got[1].ExecutionARN != recs[1].ExecutionARN {
		t.Errorf("--limit 2: exit %d, %d records, err %v", code, len(got), err)
	}

	code, out, _ = c.run(t, runHistory, append(base, "--table", testTable)...)
	wantTable := `STARTED      TOOK   ACTION    OUTCOME      FROM   TO     TRIED  IMAGE   BY     REASON
11-20 12:00  3m30s  rollback  SKIPPED      web:2  web:2  -      -       alice  already-on-last-good: web:2
11-20 11:00  2m30s  deploy    ROLLED_BACK  web:2  web:2  web:3  web:v3  push   alarm web-5xx fired during the bake
11-20 10:00  1m30s  deploy    SUCCEEDED    web:1  web:2  -      web:v2  push   deployed v2
`
	if d := cmp.Diff(wantTable, out); code != exitOK || d != "" {
		t.Errorf("table, exit %d (-want +got):\n%s", code, d)
	}
	code, out, _ = c.run(t, runHistory, append(base, "--wide")...)
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	img := func(s string) string { return fmt.Sprintf("%-78s", s) }
	wantWide := "STARTED              TOOK   ACTION    TRIGGER  OUTCOME      FROM   TO     TRIED  " + img("IMAGE") + "  BY         REASON\n" +
		"2026-11-20 12:00:00  3m30s  rollback  manual   SKIPPED      web:2  web:2  -      " + img("-") + "  alice      already-on-last-good: web:2\n" +
		"2026-11-20 11:00:00  2m30s  deploy    push     ROLLED_BACK  web:2  web:2  web:3  " + img("web:v3@sha256:"+b) + "  ecr:evt-2  alarm web-5xx fired during the bake\n" +
		"2026-11-20 10:00:00  1m30s  deploy    push     SUCCEEDED    web:1  web:2  -      " + img("web:v2@sha256:"+a) + "  ecr:evt-1  deployed v2\n"
	if d := cmp.Diff(wantWide, out); code != exitOK || d != "" {
		t.Errorf("--wide table, exit %d (-want +got):\n%s", code, d)
	}

	// The table name may come from the environment.
	t.Setenv(envTable, testTable)
	if code, out, _ := c.run(t, runHistory, "--cluster", "prod", "--service", "web", "--output", "json"); code != exitOK || !strings.Contains(out, recs[0].ExecutionARN) {
		t.Errorf("PUSHDEPLOY_TABLE: exit %d", code)
	}

	// A service with no records; a missing service; a missing table.
	code, out, _ = c.run(t, runHistory, "--cluster", "prod", "--service", "web", "--output", "json", "--region", "eu-west-1")
	if code != exitBadInput {
		t.Errorf("service in another region: exit %d, want %d (%s)", code, exitBadInput, out)
	}
	code, _, errs = c.run(t, runHistory, "--cluster", "prod", "--service", "nope")
	if code != exitBadInput || !strings.Contains(errs, "service nope not found in cluster prod") {
		t.Errorf("missing service: exit %d, %q", code, errs)
	}
	code, _, errs = c.run(t, runHistory, "--cluster", "prod", "--service", "web", "--table", "no-such-table")
	if code != exitAWS || !strings.Contains(errs, "ResourceNotFoundException") {
		t.Errorf("missing table: exit %d, %q", code, errs)
	}
}

func TestStatusCommand(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	base := []string{"--cluster", "prod", "--service", "web", "--table", testTable, "--output", "json"}

	// A fresh service: no last good, no lease, nothing recorded.
	code, out, errs := c.run(t, runStatus, base...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var st serviceStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if st.ServiceArn != c.serviceARN || st.TaskDefinition != c.td1 || st.LastGood != nil || st.Lease != nil || st.LastRecord != nil {
		t.Errorf("fresh status: %+v", st)
	}
	wantImages := []containerImage{{"app", c.repoURI + ":v1"}, {"proxy", "public.ecr.aws/nginx/nginx:1.27"}}
	if d := cmp.Diff(wantImages, st.Images); d != "" {
		t.Errorf("images (-want +got):\n%s", d)
	}
	if st.Config["pushdeploy:repository"] != "web" || len(st.Deployments) == 0 || st.Deployments[0].TaskDefinition != c.td1 {
		t.Errorf("config %v deployments %+v", st.Config, st.Deployments)
	}

	// Last good (the revision the second record rolled back to), a
	// quarantined digest, a record and a lease held by an execution.
	recs := c.records(t)
	db := dynamodb.NewFromConfig(c.cfg)
	lg := ledger.Revision{Revision: recs[1].ToRevision, Execution: recs[1].ExecutionARN, Since: recs[1].FinishedAt}
	ls, _ := coord.New(db, testTable, clock.Real{})
	holder := "arn:aws:states:us-east-1:123456789012:execution:pushdeploy:deploy-now"
	if _, err := ls.Acquire(ctx, coord.Request{Service: c.serviceARN, Holder: holder, Seq: 1, TTL: time.Hour, Mode: coord.Preempt}); err != nil {
		t.Fatal(err)
	}
	code, out, errs = c.run(t, runStatus, base...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	st = serviceStatus{}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.LastGood == nil || !st.LastGood.Since.Equal(lg.Since) || st.LastGood.Revision != lg.Revision || st.LastGood.Via != ledger.ViaRollback {
		t.Errorf("last good %+v, want %+v", st.LastGood, lg)
	}
	if len(st.Quarantined) != 1 || st.Quarantined[0].Digest != recs[1].Images[0].Digest || st.Quarantined[0].Execution != recs[1].ExecutionARN {
		t.Errorf("quarantined %+v, want the digest the second record rolled back from", st.Quarantined)
	}
	if st.LastRecord == nil || st.LastRecord.ExecutionARN != recs[2].ExecutionARN {
		t.Errorf("last record %+v", st.LastRecord)
	}
	if st.Lease == nil || st.Lease.Holder != holder || !st.Lease.Held || st.Lease.Until.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("lease %+v", st.Lease)
	}
	if st.InFlight == nil || len(st.InFlight) != 0 {
		t.Errorf("in flight %+v (no state machine given: empty list)", st.InFlight)
	}

	code, out, _ = c.run(t, runStatus, "--cluster", "prod", "--service", "web", "--table", testTable)
	for _, want := range []string{"revision     web:1", "app        " + c.repoURI + ":v1", "last good    web:2 (since 2026-11-20T11:02:30Z)", "quarantined  sha256:" + strings.Repeat("b", 64) + " (rolled back from web:3", "lease        held by " + holder, "in flight    unknown (no --state-machine)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text status lacks %q:\n%s", want, out)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	code, _, errs = c.run(t, runStatus, "--cluster", "nope", "--service", "web", "--table", testTable)
	if code != exitBadInput {
		t.Errorf("missing cluster: exit %d %q", code, errs)
	}
}

func TestDiffCommand(t *testing.T) {
	c := newCloud(t)
	d2 := c.push(t, "v2", "second")
	base := []string{"--cluster", "prod", "--service", "web", "--output", "json"}
	oldImage, _ := json.Marshal(c.repoURI + ":v1")
	newImage, _ := json.Marshal(c.repoURI + "@" + d2)
	rolling := strategyEffect{Name: "ROLLING"}
	cases := []struct {
		name  string
		args  []string
		code  int
		want  *diffResult
		error string
	}{
		{"tag resolved in ECR, containers from the service tag", []string{"--image", c.repoURI + ":v2"}, exitOK, &diffResult{
			Cluster: "prod", Service: "web", TaskDefinition: c.td1, Image: c.repoURI + "@" + d2, Containers: []string{"app"},
			Changes:  []changeOutput{{Path: "ContainerDefinitions[app].Image", Old: string(oldImage), New: string(newImage)}},
			Strategy: rolling,
		}, ""},
		{"by digest, two containers", []string{"--image", c.repoURI + "@" + d2, "--containers", "app,proxy"}, exitOK, &diffResult{
			Cluster: "prod", Service: "web", TaskDefinition: c.td1, Image: c.repoURI + "@" + d2, Containers: []string{"app", "proxy"},
			Changes: []changeOutput{
				{Path: "ContainerDefinitions[app].Image", Old: string(oldImage), New: string(newImage)},
				{Path: "ContainerDefinitions[proxy].Image", Old: `"public.ecr.aws/nginx/nginx:1.27"`, New: string(newImage)},
			},
			Strategy: rolling,
		}, ""},
		{"unknown tag", []string{"--image", c.repoURI + ":v9"}, exitBadInput, nil, "ImageNotFoundException"},
		{"unknown container", []string{"--image", c.repoURI + ":v2", "--containers", "db"}, exitBadInput, nil, `"db"`},
		{"repository:tag in this account's ECR", []string{"--image", "web:v2"}, exitOK, &diffResult{
			Cluster: "prod", Service: "web", TaskDefinition: c.td1, Image: c.repoURI + "@" + d2, Containers: []string{"app"},
			Changes:  []changeOutput{{Path: "ContainerDefinitions[app].Image", Old: string(oldImage), New: string(newImage)}},
			Strategy: rolling,
		}, ""},
		{"repository@digest in this account's ECR", []string{"--image", "web@" + d2}, exitOK, &diffResult{
			Cluster: "prod", Service: "web", TaskDefinition: c.td1, Image: c.repoURI + "@" + d2, Containers: []string{"app"},
			Changes:  []changeOutput{{Path: "ContainerDefinitions[app].Image", Old: string(oldImage), New: string(newImage)}},
			Strategy: rolling,
		}, ""},
		{"no such repository in this account's ECR", []string{"--image", "nginx:1.28"}, exitBadInput, nil, "RepositoryNotFoundException"},
		{"tag outside ECR", []string{"--image", "docker.io/library/nginx:1.28"}, exitBadInput, nil, "give the image by digest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := c.run(t, runDiff, append(base, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			if tc.want == nil {
				if !strings.Contains(errs, tc.error) {
					t.Errorf("stderr %q lacks %q", errs, tc.error)
				}
				return
			}
			var got diffResult
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if d := cmp.Diff(*tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	code, out, _ := c.run(t, runDiff, "--cluster", "prod", "--service", "web", "--image", c.repoURI+":v2")
	if code != exitOK || !strings.Contains(out, "1 change(s) in the new revision:\n  ContainerDefinitions[app].Image\n    - "+string(oldImage)+"\n    + "+string(newImage)) {
		t.Errorf("text diff, exit %d:\n%s", code, out)
	}
	// Nothing changed: still one revision, the service on it.
	list, err := ecs.NewFromConfig(c.cfg).ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if err != nil || len(list.TaskDefinitionArns) != 1 {
		t.Errorf("diff registered something: %v %v", list.TaskDefinitionArns, err)
	}
}

// TestNoSDKWarnings: the CLI's clients talk to the local cloud without the
// SDK complaining (DynamoDB checks a CRC32 header on every response).
func TestNoSDKWarnings(t *testing.T) {
	c := newCloud(t)
	c.records(t)
	af := awsFlags{endpoint: c.url}
	cfg, err := af.config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Logger = logging.NewStandardLogger(&logs)
	hs, err := history.New(dynamodb.NewFromConfig(cfg), testTable, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.List(context.Background(), c.serviceARN, 10, ""); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("SDK warnings: %s", logs.String())
	}
}
