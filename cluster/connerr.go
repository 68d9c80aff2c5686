package cluster

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// connectError names the failed connect once and, for the two mistakes
// operators make most, the [cluster] keys to look at. It never shows a
// secret: nats.go's errors hold no password, and the keys are named, not
// their values.
func connectError(err error) error {
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("connect to nats: %w (set [cluster] tls_ca to the CA that signed the server's certificate)", err)
	case errors.Is(err, nats.ErrAuthorization):
		return fmt.Errorf("connect to nats: %w (check [cluster] user and password, or creds_file)", err)
	}
	return fmt.Errorf("connect to nats: %w", err)
}
