package ecr_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

const account = "123456789012"

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	clk    *clock.Virtual
	svc    *ecr.Service
	server *localcloud.Server
	events *localtest.Bus
	client *sdkecr.Client
	url    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewVirtual(start)
	rec := &localtest.Bus{}
	svc, err := ecr.New(clk, account, rec)
	if err != nil {
		t.Fatal(err)
	}
	url, server := localtest.Start(t, clk, nil, svc)
	cfg := localtest.Config(url)
	cfg.Retryer = localtest.NoBackoff
	return &env{clk: clk, svc: svc, server: server, events: rec, client: sdkecr.NewFromConfig(cfg), url: url}
}

func (e *env) createRepo(t *testing.T, name string, mut types.ImageTagMutability) {
	t.Helper()
	if _, err := e.client.CreateRepository(context.Background(), &sdkecr.CreateRepositoryInput{
		RepositoryName: aws.String(name), ImageTagMutability: mut}); err != nil {
		t.Fatalf("CreateRepository %s: %v", name, err)
	}
}

func (e *env) put(t *testing.T, repo, tag string, manifest []byte) (*sdkecr.PutImageOutput, error) {
	t.Helper()
	in := &sdkecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(string(manifest))}
	if tag != "" {
		in.ImageTag = aws.String(tag)
	}
	// These tests are about images, not blobs: take the layers as uploaded
	// (the Go shortcut; TestLayerUpload covers the upload calls).
	_ = e.svc.SeedLayers(context.Background(), repo, manifest)
	return e.client.PutImage(context.Background(), in)
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestRepositories(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("team/web"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryUri) != "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web" ||
		aws.ToString(r.RepositoryArn) != "arn:aws:ecr:us-east-1:123456789012:repository/team/web" ||
		r.ImageTagMutability != types.ImageTagMutabilityMutable || !r.ImageScanningConfiguration.ScanOnPush ||
		!aws.ToTime(r.CreatedAt).Equal(start) || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("repository = %+v", r)
	}
	for _, n := range []string{"a1", "b2", "c3", "d4"} {
		e.createRepo(t, n, "")
	}
	var names []string
	p := sdkecr.NewDescribeRepositoriesPaginator(e.client, &sdkecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.Repositories {
			names = append(names, aws.ToString(r.RepositoryName))
		}
	}
	if diff := cmp.Diff([]string{"a1", "b2", "c3", "d4", "team/web"}, names); diff != "" || pages != 3 {
		t.Errorf("%d pages, names (-want +got):\n%s", pages, diff)
	}

	errTests := []struct {
		name  string
		call  func() error
		check func(error) bool
	}{
		{"exists", func() error {
			_, err := e.client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("a1")})
			return err
		}, isType[*types.RepositoryAlreadyExistsException]},
		{"bad name", func() error {
			_, err := e.client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("Bad_Name")})
			return err
		}, isType[*types.InvalidParameterException]},
		{"describe missing", func() error {
			_, err := e.client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"a1", "nope"}})
			return err
		}, isType[*types.RepositoryNotFoundException]},
		{"delete missing", func() error {
			_, err := e.client.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("nope")})
			return err
		}, isType[*types.RepositoryNotFoundException]},
		{"other registry", func() error {
			_, err := e.client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RegistryId: aws.String("999999999999")})
			return err
		}, isType[*types.InvalidParameterException]},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !tt.check(err) {
				t.Errorf("error = %v (%T)", err, err)
			}
		})
	}

	if _, err := e.put(t, "a1", "v1", ecr.Manifest("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("a1")}); !isType[*types.RepositoryNotEmptyException](err) {
		t.Errorf("delete non-empty: %v, want RepositoryNotEmptyException", err)
	}
	if _, err := e.client.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("a1"), Force: true}); err != nil {
		t.Errorf("force delete: %v", err)
	}
	got, err := e.client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"b2"}})
	if err != nil || len(got.Repositories) != 1 {
		t.Errorf("describe by name: %v, %+v", err, got)
	}
}

func TestPutImage(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "web", "")
	m1, m2 := ecr.Manifest("build-1"), ecr.Manifest("build-2")
	out, err := e.put(t, "web", "latest", m1)
	if err != nil {
		t.Fatal(err)
	}
	d1 := aws.ToString(out.Image.ImageId.ImageDigest)
	if d1 != ecr.Digest(m1) || !strings.HasPrefix(d1, "sha256:") || len(d1) != 71 {
		t.Errorf("digest = %s, want sha256 of the manifest %s", d1, ecr.Digest(m1))
	}
	if aws.ToString(out.Image.ImageManifestMediaType) != ecr.MediaTypeDockerManifest || aws.ToString(out.Image.ImageManifest) != string(m1) {
		t.Errorf("image = %+v", out.Image)
	}
	tests := []struct {
		name     string
		tag      string
		manifest []byte
		check    func(error) bool
	}{
		{"same digest and tag", "latest", m1, isType[*types.ImageAlreadyExistsException]},
		{"same digest, no tag", "", m1, isType[*types.ImageAlreadyExistsException]},
		{"bad manifest", "x", []byte("{not json"), isType[*types.InvalidParameterException]},
		{"schema 1", "x", []byte(`{"schemaVersion":1}`), isType[*types.InvalidParameterException]},
		{"bad tag", "-bad", m2, isType[*types.InvalidParameterException]},
		{"missing repo", "v1", m2, isType[*types.RepositoryNotFoundException]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := "web"
			if tt.name == "missing repo" {
				repo = "nope"
			}
			_, err := e.put(t, repo, tt.tag, tt.manifest)
			if !tt.check(err) {
				t.Errorf("error = %v (%T)", err, err)
			}
		})
	}
	_, err = e.client.PutImage(context.Background(), &sdkecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String("v9"),
		ImageManifest: aws.String(string(m2)), ImageDigest: aws.String(ecr.Digest(m1))})
	if !isType[*types.ImageDigestDoesNotMatchException](err) {
		t.Errorf("digest mismatch: %v", err)
	}

	// The same manifest under a second tag, then "latest" moves to build-2.
	if _, err := e.put(t, "web", "v1", m1); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	if _, err := e.put(t, "web", "latest", m2); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.DescribeImages(context.Background(), &sdkecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string][]string{}
	for _, d := range got.ImageDetails {
		tags[aws.ToString(d.ImageDigest)] = d.ImageTags
	}
	if diff := cmp.Diff(map[string][]string{ecr.Digest(m1): {"v1"}, ecr.Digest(m2): {"latest"}}, tags); diff != "" {
		t.Errorf("tags after the move (-want +got):\n%s", diff)
	}
	evs := e.events.Events()
	if len(evs) != 3 {
		t.Fatalf("%d push events, want 3", len(evs))
	}
	var d ecr.ImageActionDetail
	if err := json.Unmarshal(evs[2].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d != (ecr.ImageActionDetail{Result: "SUCCESS", RepositoryName: "web", ImageDigest: ecr.Digest(m2), ActionType: "PUSH", ImageTag: "latest"}) ||
		evs[2].Time != "2026-03-01T12:01:00Z" {
		t.Errorf("last event = %+v %+v", evs[2], d)
	}

	// Immutable repositories refuse to move a tag.
	e.createRepo(t, "fixed", types.ImageTagMutabilityImmutable)
	if _, err := e.put(t, "fixed", "v1", m1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.put(t, "fixed", "v1", m2); !isType[*types.ImageTagAlreadyExistsException](err) {
		t.Errorf("immutable tag move: %v, want ImageTagAlreadyExistsException", err)
	}
}

func TestImageEventMatchesAWSExample(t *testing.T) {
	want, err := os.ReadFile("testdata/ecr-image-action.json")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.CreateRepository(ctx, "my-repository-name"); err != nil {
		t.Fatal(err)
	}
	digest, err := e.svc.PushImage(ctx, "my-repository-name", "latest", ecr.Manifest("demo"))
	if err != nil {
		t.Fatal(err)
	}
	evs := e.events.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	got, err := json.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	var wantMap, gotMap map[string]any
	if err := json.Unmarshal(want, &wantMap); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &gotMap); err != nil {
		t.Fatal(err)
	}
	// Same keys and JSON types everywhere; values that identify this push differ.
	for _, k := range []string{"id", "time", "region"} {
		delete(wantMap, k)
		delete(gotMap, k)
	}
	wantMap["detail"].(map[string]any)["image-digest"] = digest
	if diff := cmp.Diff(wantMap, gotMap); diff != "" {
		t.Errorf("event differs from AWS's example (-aws +local):\n%s", diff)
	}
	var ev events.ECRImageActionEvent
	if err := json.Unmarshal(got, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Detail.ImageDigest != digest || ev.Detail.ImageTag != "latest" || ev.Detail.ActionType != "PUSH" ||
		ev.Detail.Result != "SUCCESS" || !ev.Time.Equal(start) || ev.Resources == nil {
		t.Errorf("aws-lambda-go ECRImageActionEvent = %+v", ev)
	}
	if d, ok := e.svc.Resolve(ctx, "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repository-name:latest"); !ok || d != digest {
		t.Errorf("Resolve by tag = %s, %v", d, ok)
	}
	if _, ok := e.svc.Resolve(ctx, "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repository-name@"+digest); !ok {
		t.Error("Resolve by digest: not found")
	}
	if _, ok := e.svc.Resolve(ctx, "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repository-name:v2"); ok {
		t.Error("Resolve of a missing tag: found")
	}
}

func TestBatchGetImage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "web", "")
	m := ecr.Manifest("b")
	if _, err := e.put(t, "web", "v1", m); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.BatchGetImage(ctx, &sdkecr.BatchGetImageInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{
		{ImageTag: aws.String("v1")},
		{ImageDigest: aws.String(ecr.Digest(m))},
		{ImageTag: aws.String("v2")},
		{ImageTag: aws.String("v1"), ImageDigest: aws.String(ecr.Digest([]byte("other")))},
		{ImageDigest: aws.String("sha256:nothex")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 || aws.ToString(out.Images[0].ImageManifest) != string(m) || aws.ToString(out.Images[0].ImageId.ImageDigest) != ecr.Digest(m) {
		t.Errorf("images = %+v", out.Images)
	}
	var codes []types.ImageFailureCode
	for _, f := range out.Failures {
		codes = append(codes, f.FailureCode)
	}
	if diff := cmp.Diff([]types.ImageFailureCode{types.ImageFailureCodeImageNotFound, types.ImageFailureCodeImageTagDoesNotMatchDigest, types.ImageFailureCodeInvalidImageDigest}, codes); diff != "" {
		t.Errorf("failure codes (-want +got):\n%s", diff)
	}
	_, err = e.client.BatchGetImage(ctx, &sdkecr.BatchGetImageInput{RepositoryName: aws.String("nope"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if !isType[*types.RepositoryNotFoundException](err) {
		t.Errorf("missing repo: %v", err)
	}
}

func TestDescribeAndListImagesPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "web", "")
	var digests []string
	for i, tag := range []string{"v1", "v2", "", "v4", "v5"} {
		e.clk.Advance(time.Minute)
		out, err := e.put(t, "web", tag, ecr.Manifest(string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, aws.ToString(out.Image.ImageId.ImageDigest))
	}
	tests := []struct {
		status types.TagStatus
		want   []string
	}{
		{"", digests},
		{types.TagStatusTagged, []string{digests[0], digests[1], digests[3], digests[4]}},
		{types.TagStatusUntagged, []string{digests[2]}},
	}
	for _, tt := range tests {
		t.Run("describe "+string(tt.status), func(t *testing.T) {
			in := &sdkecr.DescribeImagesInput{RepositoryName: aws.String("web"), MaxResults: aws.Int32(2)}
			if tt.status != "" {
				in.Filter = &types.DescribeImagesFilter{TagStatus: tt.status}
			}
			var got []string
			p := sdkecr.NewDescribeImagesPaginator(e.client, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.ImageDetails) > 2 {
					t.Fatalf("page of %d", len(page.ImageDetails))
				}
				for _, d := range page.ImageDetails {
					got = append(got, aws.ToString(d.ImageDigest))
					if aws.ToInt64(d.ImageSizeInBytes) < 6000000 || d.ImagePushedAt == nil {
						t.Errorf("detail = %+v", d)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("digests (-want +got):\n%s", diff)
			}
		})
		t.Run("list "+string(tt.status), func(t *testing.T) {
			in := &sdkecr.ListImagesInput{RepositoryName: aws.String("web"), MaxResults: aws.Int32(2)}
			if tt.status != "" {
				in.Filter = &types.ListImagesFilter{TagStatus: tt.status}
			}
			var got []string
			p := sdkecr.NewListImagesPaginator(e.client, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range page.ImageIds {
					got = append(got, aws.ToString(id.ImageDigest))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("digests (-want +got):\n%s", diff)
			}
		})
	}
	_, err := e.client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: aws.String("web"),
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("v9")}}})
	if !isType[*types.ImageNotFoundException](err) {
		t.Errorf("missing image: %v, want ImageNotFoundException", err)
	}
	byTag, err := e.client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: aws.String("web"),
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v4")}}})
	if err != nil || len(byTag.ImageDetails) != 1 || aws.ToString(byTag.ImageDetails[0].ImageDigest) != digests[3] ||
		!aws.ToTime(byTag.ImageDetails[0].ImagePushedAt).Equal(start.Add(4*time.Minute)) {
		t.Errorf("describe v4: %v %+v", err, byTag)
	}
	_, err = e.client.ListImages(ctx, &sdkecr.ListImagesInput{RepositoryName: aws.String("web"), NextToken: aws.String("bogus")})
	if !isType[*types.InvalidParameterException](err) {
		t.Errorf("bad token: %v", err)
	}
}

func TestThrottlingRetried(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "web", "")
	e.server.Faults.AddThrottle(localcloud.Throttle{Service: "ecr", Operation: "PutImage", Rate: 1, Limit: 2})
	if _, err := e.put(t, "web", "v1", ecr.Manifest("t")); err != nil {
		t.Fatalf("PutImage after 2 throttles: %v", err)
	}
	if got := e.server.Log.Count("ecr", "PutImage"); got != 3 {
		t.Errorf("%d PutImage calls, want 3", got)
	}
	if n := len(e.events.Events()); n != 1 {
		t.Errorf("%d events, want 1 (throttled calls push nothing)", n)
	}
}

func TestUnsupportedOperation(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.GetAuthorizationToken(context.Background(), &sdkecr.GetAuthorizationTokenInput{})
	if err == nil || !strings.Contains(err.Error(), "UnknownOperationException") || !strings.Contains(err.Error(), "GetAuthorizationToken") {
		t.Errorf("GetAuthorizationToken: %v", err)
	}
}

func TestRepositoryTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("team/web"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Repository.RepositoryArn
	if _, err := e.client.TagResource(ctx, &sdkecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagResource(ctx, &sdkecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.client.ListTagsForResource(ctx, &sdkecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "tier" || aws.ToString(tags.Tags[0].Value) != "1" {
		t.Errorf("tags = %+v", tags.Tags)
	}
	_, err = e.client.ListTagsForResource(ctx, &sdkecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:123456789012:repository/nope")})
	if !isType[*types.RepositoryNotFoundException](err) {
		t.Errorf("missing repository: %v", err)
	}
	_, err = e.client.ListTagsForResource(ctx, &sdkecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:s3:::bucket")})
	if !isType[*types.InvalidParameterException](err) {
		t.Errorf("bad ARN: %v", err)
	}
	_, err = e.client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("x1"), Tags: []types.Tag{{Key: aws.String(""), Value: aws.String("v")}}})
	if !isType[*types.InvalidTagParameterException](err) {
		t.Errorf("empty tag key: %v", err)
	}
}

// TestImagePushedAt: DescribeImages reports the first push of an image with
// its milliseconds, through the SDK; a retag keeps it. The ECR event's time
// is whole seconds.
func TestImagePushedAt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "web", "")
	e.clk.Advance(1234 * time.Millisecond)
	first := e.clk.Now()
	out, err := e.put(t, "web", "v1", ecr.Manifest("pushed-at"))
	if err != nil {
		t.Fatal(err)
	}
	d := aws.ToString(out.Image.ImageId.ImageDigest)
	e.clk.Advance(time.Hour + 500*time.Millisecond)
	if _, err := e.put(t, "web", "latest", ecr.Manifest("pushed-at")); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: aws.String("web"),
		ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(d)}}})
	if err != nil || len(got.ImageDetails) != 1 {
		t.Fatalf("describe: %v %+v", err, got)
	}
	if at := aws.ToTime(got.ImageDetails[0].ImagePushedAt); !at.Equal(first.Truncate(time.Millisecond)) {
		t.Errorf("imagePushedAt %s, want the first push %s", at.Format(time.RFC3339Nano), first.Format(time.RFC3339Nano))
	}
}
