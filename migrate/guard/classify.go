package guard

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Classify maps the error of one distributed-store operation to an Outcome.
// ctx must be the caller's context (the request's), not the per-operation
// timeout context derived from it: the distinction between "the caller gave
// up" and "the store did not answer in time" rests on it. The rules, in
// order:
//
//   - nil: Success.
//   - ctx is done, or err is context.Canceled: Canceled. The caller gave up
//     (or the operation was aborted on shutdown); that says nothing about
//     the store.
//   - a timeout (context.DeadlineExceeded from the per-operation timeout,
//     os.ErrDeadlineExceeded, a net.Error whose Timeout is true): Timeout.
//     The store did not answer in time, or the process was too stalled to
//     read the answer in time, which Record tells apart.
//   - a closed or reset connection (net.ErrClosed, io.EOF,
//     io.ErrUnexpectedEOF, ECONNREFUSED, ECONNRESET, EPIPE, any other
//     net.Error): Unavailable. The store was not reachable.
//   - anything else (the store answered with an error, a script failed, a
//     pool was exhausted): Failure.
//
// A store client with its own connection-class errors (a "cluster down" or
// "pool timeout" reply, say) should map those before falling back to
// Classify. Give distributed operations a timeout shorter than request
// deadlines: an operation still pending when the request's deadline passes
// is Canceled and invisible to the guard, so a hung store must surface as a
// per-operation timeout first.
func Classify(ctx context.Context, err error) Outcome {
	switch {
	case err == nil:
		return Success
	case ctx != nil && ctx.Err() != nil, errors.Is(err, context.Canceled):
		return Canceled
	case timedOut(err):
		return Timeout
	case unreachable(err):
		return Unavailable
	default:
		return Failure
	}
}

func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func unreachable(err error) bool {
	for _, target := range []error{
		net.ErrClosed, io.EOF, io.ErrUnexpectedEOF,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne)
}
