package handler

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// lowerVersion is why a push (of tag) followed through a semver range must not be
// deployed: its tag is a lower version than the image running ("" if it
// may). The version running is read from the running image's tags in ECR
// (task definitions pin digests, so only the registry knows them); a
// running image from elsewhere, or gone from ECR, has no version.
func (h *PlanHandler) lowerVersion(ctx context.Context, tag string, img taskdef.Image, changes []taskdef.ImageChange, cfg target.Config) (string, error) {
	pol := cfg.TagPolicy()
	if len(pol.Ranges) == 0 || !pol.MatchesRange(tag) {
		return "", nil
	}
	acct := img.Account()
	if acct == "" || img.Region() != h.d.Settings.Region {
		return "", nil
	}
	var digest string
	for _, c := range changes {
		cur, err := taskdef.ParseImage(c.From)
		if err == nil && cur.SameRepository(img) && cur.Digest != "" {
			digest = cur.Digest
			break
		}
	}
	if digest == "" {
		return "", nil
	}
	out, err := h.d.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(acct), RepositoryName: aws.String(img.Repository),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ImageNotFoundException" {
		return "", nil
	}
	if err != nil {
		return "", boundary("describe running image "+digest, err)
	}
	var tags []string
	for _, d := range out.ImageDetails {
		tags = append(tags, d.ImageTags...)
	}
	reason, _ := pol.Lower(tag, tags)
	return reason, nil
}
