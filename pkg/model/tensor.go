package model

import (
	"fmt"
	"slices"
)

// Tensor is a dense float32 tensor in C (row-major) order. It is the one
// tensor type of the model package: parameters, buffers and activations.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// Numel is the number of elements the shape describes.
func (t *Tensor) Numel() int { return numel(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// SameShape reports whether t has exactly the given shape.
func (t *Tensor) SameShape(shape []int) bool { return slices.Equal(t.Shape, shape) }

func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Kind tells what a state-dict entry is, as PyTorch distinguishes them.
type Kind int

const (
	// Param is a trainable parameter (nn.Parameter).
	Param Kind = iota
	// Buffer is a float buffer such as BatchNorm running_mean/running_var.
	Buffer
	// Counter is an int64 scalar buffer (BatchNorm num_batches_tracked).
	Counter
)

func (k Kind) String() string {
	switch k {
	case Param:
		return "param"
	case Buffer:
		return "buffer"
	case Counter:
		return "counter"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Entry is one item of a model's state dict, in PyTorch's key order.
// For Kind Counter, Count points at the int64 value and Tensor is nil.
// For Param, Norm reports whether the parameter belongs to a normalization
// layer (mmengine's paramwise_cfg norm_decay_mult applies to those) and Bias
// whether it is a bias (bias_decay_mult).
type Entry struct {
	Key    string
	Kind   Kind
	Tensor *Tensor
	Count  *int64
	Norm   bool
	Bias   bool
}

// Shape returns the PyTorch shape of the entry ([] for a counter).
func (e Entry) Shape() []int {
	if e.Kind == Counter {
		return []int{}
	}
	return e.Tensor.Shape
}
