package ecr_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
)

// Over the API there is no leniency: a manifest whose blobs were not
// uploaded is refused; the calls `docker push` makes upload them, checking
// order and digest; then the same manifest is accepted.
func TestLayerUpload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "web", types.ImageTagMutabilityMutable)
	manifest := string(ecr.Manifest("v1"))
	put := func() error {
		_, err := e.client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String("v1"), ImageManifest: aws.String(manifest)})
		return err
	}
	if err := put(); !isType[*types.LayersNotFoundException](err) {
		t.Fatalf("PutImage before any upload: %v", err)
	}
	blobs := ecr.Blobs("v1")
	digest := func(b []byte) string { return ecr.Digest(b) } // sha256 of the bytes, as a manifest's digest
	check, err := e.client.BatchCheckLayerAvailability(ctx, &sdkecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String("web"), LayerDigests: []string{digest(blobs[0])}})
	if err != nil || len(check.Failures) != 1 || check.Failures[0].FailureCode != types.LayerFailureCodeMissingLayerDigest {
		t.Fatalf("BatchCheckLayerAvailability before upload = %+v, %v", check, err)
	}

	// A part that does not follow what was received, and a wrong digest.
	up, err := e.client.InitiateLayerUpload(ctx, &sdkecr.InitiateLayerUploadInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{RepositoryName: aws.String("web"), UploadId: up.UploadId,
		PartFirstByte: aws.Int64(5), PartLastByte: aws.Int64(6), LayerPartBlob: []byte("ab")}); !isType[*types.InvalidLayerPartException](err) {
		t.Errorf("out-of-order part: %v", err)
	}
	if _, err := e.client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{RepositoryName: aws.String("web"), UploadId: up.UploadId,
		PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(1), LayerPartBlob: []byte("ab")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CompleteLayerUpload(ctx, &sdkecr.CompleteLayerUploadInput{RepositoryName: aws.String("web"), UploadId: up.UploadId,
		LayerDigests: []string{digest(blobs[0])}}); !isType[*types.InvalidLayerException](err) {
		t.Errorf("wrong digest: %v", err)
	}

	for _, b := range blobs {
		up, err := e.client.InitiateLayerUpload(ctx, &sdkecr.InitiateLayerUploadInput{RepositoryName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		// Two parts, as a client cuts a blob at partSize.
		half := len(b) / 2
		for _, part := range [][2]int{{0, half}, {half, len(b)}} {
			if _, err := e.client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{RepositoryName: aws.String("web"), UploadId: up.UploadId,
				PartFirstByte: aws.Int64(int64(part[0])), PartLastByte: aws.Int64(int64(part[1] - 1)), LayerPartBlob: b[part[0]:part[1]]}); err != nil {
				t.Fatal(err)
			}
		}
		done, err := e.client.CompleteLayerUpload(ctx, &sdkecr.CompleteLayerUploadInput{RepositoryName: aws.String("web"), UploadId: up.UploadId,
			LayerDigests: []string{digest(b)}})
		if err != nil || aws.ToString(done.LayerDigest) != digest(b) {
			t.Fatalf("CompleteLayerUpload = %+v, %v", done, err)
		}
	}
	check, err = e.client.BatchCheckLayerAvailability(ctx, &sdkecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String("web"), LayerDigests: []string{digest(blobs[0]), digest(blobs[2])}})
	if err != nil || len(check.Layers) != 2 || len(check.Failures) != 0 || check.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable {
		t.Fatalf("BatchCheckLayerAvailability after upload = %+v, %v", check, err)
	}
	if err := put(); err != nil {
		t.Fatalf("PutImage after the upload: %v", err)
	}
	// Blobs belong to a repository, as on ECR.
	e.createRepo(t, "other", types.ImageTagMutabilityMutable)
	if _, err := e.client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: aws.String("other"), ImageManifest: aws.String(manifest)}); !isType[*types.LayersNotFoundException](err) {
		t.Errorf("PutImage into another repository: %v", err)
	}
}

// SeedLayers, the Go shortcut, is the only way round the uploads, and
// PushImage (Go) uses it.
func TestPushImageSeedsLayers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "web", types.ImageTagMutabilityMutable)
	if _, err := e.svc.PushImage(ctx, "web", "v1", ecr.Manifest("go")); err != nil {
		t.Fatal(err)
	}
	check, err := e.client.BatchCheckLayerAvailability(ctx, &sdkecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String("web"), LayerDigests: []string{ecr.Digest(ecr.Blobs("go")[1])}})
	if err != nil || len(check.Layers) != 1 {
		t.Errorf("after PushImage = %+v, %v", check, err)
	}
}
