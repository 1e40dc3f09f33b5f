package control

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeState(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		raw     string
		want    State
		wantErr string // substring of the error; "" = success
	}{
		{"local", `{"stage":"local","percent":0,"epoch":1}`, State{Stage: StageLocal, Epoch: 1}, ""},
		{"ramp with decimals", `{"stage":"ramp","percent":12.34,"epoch":9,"actor":"ann","reason":"r","time":"2025-03-01T12:00:00Z"}`,
			State{Stage: StageRamp, Percent: 12.34, Epoch: 9, Actor: "ann", Reason: "r", Time: at}, ""},
		{"complete", `{"stage":"complete","percent":100,"epoch":3}`, State{Stage: StageComplete, Percent: 100, Epoch: 3}, ""},
		{"unknown fields tolerated", `{"stage":"dual","percent":0,"epoch":2,"added_later":true}`, State{Stage: StageDual, Epoch: 2}, ""},
		{"rolled back", `{"stage":"shadow","percent":0,"epoch":4,"rollback":{"automatic":true,"signal":"error_rate","reason":"errors","from_stage":"ramp","from_percent":50}}`,
			State{Stage: StageShadow, Epoch: 4, Rollback: &RollbackInfo{Automatic: true, Signal: "error_rate", Reason: "errors", FromStage: StageRamp, FromPercent: 50}}, ""},
		{"not json", `ramp 50`, State{}, "not a JSON state"},
		{"empty", ``, State{}, "not a JSON state"},
		{"wrong type", `{"stage":"ramp","percent":"50","epoch":1}`, State{}, "not a JSON state"},
		{"negative epoch", `{"stage":"local","percent":0,"epoch":-1}`, State{}, "not a JSON state"},
		{"missing stage", `{"percent":0,"epoch":1}`, State{}, "stage is missing"},
		{"unknown stage", `{"stage":"rmap","percent":0,"epoch":1}`, State{}, `stage "rmap" is not one of local, shadow, dual, ramp, complete`},
		{"percent above 100", `{"stage":"ramp","percent":100.5,"epoch":1}`, State{}, "outside 0..100"},
		{"negative percent", `{"stage":"ramp","percent":-1,"epoch":1}`, State{}, "outside 0..100"},
		{"three decimals", `{"stage":"ramp","percent":1.234,"epoch":1}`, State{}, "more than two decimals"},
		{"percent at dual", `{"stage":"dual","percent":30,"epoch":1}`, State{}, "stage dual takes 0"},
		{"complete below 100", `{"stage":"complete","percent":99,"epoch":1}`, State{}, "stage complete takes 100"},
		{"rollback without reason", `{"stage":"shadow","percent":0,"epoch":1,"rollback":{"from_stage":"dual","from_percent":0}}`, State{}, "rollback reason is empty"},
		{"rollback from unknown stage", `{"stage":"shadow","percent":0,"epoch":1,"rollback":{"reason":"x","from_stage":"warp","from_percent":0}}`, State{}, `rollback from_stage "warp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeState([]byte(tt.raw))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrCorruptState) {
					t.Fatalf("got err %v, want one wrapping ErrCorruptState", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got err %q, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got err %v, want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestValidatePercent(t *testing.T) {
	tests := []struct {
		p    float64
		want bool
	}{
		{0, true}, {0.01, true}, {12.5, true}, {33.33, true}, {99.99, true}, {100, true},
		{0.005, false}, {12.345, false}, {-0.01, false}, {100.01, false},
		{math.NaN(), false}, {math.Inf(1), false},
	}
	for _, tt := range tests {
		if got := validatePercent(tt.p) == nil; got != tt.want {
			t.Errorf("validatePercent(%v) ok = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestEncodeStateRejectsOversize(t *testing.T) {
	ev := map[string]string{"blob": strings.Repeat("x", maxStateBytes)}
	s := State{Stage: StageShadow, Rollback: &RollbackInfo{Reason: "r", FromStage: StageDual, Evidence: ev}}
	if _, err := encodeState(s); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got err %v, want ErrInvalid", err)
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		s    State
		want string
	}{
		{State{Stage: StageLocal}, "local (epoch 0)"},
		{State{Stage: StageRamp, Percent: 12.5, Epoch: 7}, "ramp 12.5% (epoch 7)"},
		{State{Stage: StageShadow, Epoch: 8, Rollback: &RollbackInfo{}}, "shadow (epoch 8) rolled back"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestPercentFor(t *testing.T) {
	for stage, want := range map[string]float64{StageLocal: 0, StageShadow: 0, StageDual: 0, StageRamp: 42.5, StageComplete: 100} {
		if got := PercentFor(stage, 42.5); got != want {
			t.Errorf("PercentFor(%s, 42.5) = %v, want %v", stage, got, want)
		}
	}
}

// FuzzDecodeState checks that decoding never panics and that whatever
// decodes re-encodes to a state that decodes equal.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"stage":"ramp","percent":12.34,"epoch":9}`))
	f.Add([]byte(`{"stage":"shadow","percent":0,"epoch":4,"rollback":{"reason":"x","from_stage":"ramp","from_percent":50,"evidence":{"a":"b"}}}`))
	f.Add([]byte(`{"stage":"complete","percent":100,"epoch":18446744073709551615}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := decodeState(raw)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("error %v does not wrap ErrCorruptState", err)
			}
			return
		}
		b, err := encodeState(s)
		if err != nil {
			if errors.Is(err, ErrInvalid) && len(raw) > maxStateBytes/2 {
				return // large inputs may exceed the size bound once re-encoded
			}
			t.Fatalf("decoded state %+v does not encode: %v", s, err)
		}
		again, err := decodeState(b)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip: got %+v, want %+v", again, s)
		}
	})
}
