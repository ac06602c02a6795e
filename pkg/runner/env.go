package runner

import (
	"context"
	"fmt"

	"gitlab.com/verify-release/verify-release/pkg/engine"
)

func (x *run) resolveImage(ctx context.Context) (string, error) {
	return "", fmt.Errorf("TODO envpin")
}

func (x *run) probeTools(ctx context.Context, sess engine.Session) error {
	return nil
}
