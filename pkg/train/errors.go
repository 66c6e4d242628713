package train

import "fmt"

// ConfigError reports a training config value this package cannot use: a
// missing key, a wrong type or an unsupported option. Key is the dotted
// config path.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("train: config %s: %s", e.Key, e.Msg) }

func configErrorf(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// ResumeError reports a checkpoint that cannot be resumed from.
type ResumeError struct {
	Path string
	Err  error
}

func (e *ResumeError) Error() string { return fmt.Sprintf("train: resume from %s: %v", e.Path, e.Err) }
func (e *ResumeError) Unwrap() error { return e.Err }
