package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want Outcome
	}{
		{"nil error", live, nil, Success},
		{"nil error, caller gone", done, nil, Success},
		{"caller canceled", done, context.Canceled, Canceled},
		{"caller gone, any error", done, errors.New("ERR something"), Canceled},
		{"canceled elsewhere", live, fmt.Errorf("op: %w", context.Canceled), Canceled},
		{"operation timeout", live, fmt.Errorf("op: %w", context.DeadlineExceeded), Timeout},
		{"i/o timeout", live, os.ErrDeadlineExceeded, Timeout},
		{"read timeout", live, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, Timeout},
		{"dial timeout", live, &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, Timeout},
		{"dial refused", live, opErr, Unavailable},
		{"dns", live, &net.DNSError{Err: "no such host", Name: "redis"}, Unavailable},
		{"closed", live, net.ErrClosed, Unavailable},
		{"eof", live, io.EOF, Unavailable},
		{"unexpected eof", live, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), Unavailable},
		{"reset", live, fmt.Errorf("read: %w", syscall.ECONNRESET), Unavailable},
		{"server error", live, errors.New("ERR wrong number of arguments"), Failure},
		{"nil context", nil, errors.New("LOADING"), Failure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.ctx, tc.err); got != tc.want {
				t.Errorf("Classify got %s, want %s", got, tc.want)
			}
		})
	}
}

// timeoutError is a net.Error that timed out, as a dialer's is.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
