package faultstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// A write that times out after it landed: the caller sees an error, the
// store holds the write. Code that retries or repairs must cope with both.
func ExampleFault_ambiguous() {
	ctx := context.Background()
	inner := newFake()
	s := faultstore.New(inner)
	_ = s.SetFault(faultstore.Fault{Ambiguous: true}, faultstore.OpSet)
	_ = s.FailNext(1, faultstore.OpSet)

	err := s.Set(ctx, "session", store.Record{Data: []byte("cart=3")})
	fmt.Println("injected:", errors.Is(err, faultstore.ErrInjected))
	fmt.Println("ambiguous:", errors.Is(err, faultstore.ErrInjectedAmbiguous))
	rec, found, _ := inner.Get(ctx, "session")
	fmt.Printf("stored: %v %s\n", found, rec.Data)
	// Output:
	// injected: true
	// ambiguous: true
	// stored: true cart=3
}

// An outage of the whole store, then recovery.
func ExampleStore_SetFault() {
	ctx := context.Background()
	s := faultstore.New(newFake())
	_ = s.SetFault(faultstore.Fault{Outage: true})
	_, _, err := s.Get(ctx, "session")
	fmt.Println(err)
	s.Reset()
	_, found, err := s.Get(ctx, "session")
	fmt.Println(found, err)
	fmt.Printf("%+v\n", s.Stats(faultstore.OpGet))
	// Output:
	// faultstore: get: faultstore: injected fault
	// false <nil>
	// {Calls:2 Errors:1 Ambiguous:0 Dropped:0 Delayed:0 Hung:0}
}
