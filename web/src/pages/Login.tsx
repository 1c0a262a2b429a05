// Sign-in: user name and password, then a TOTP code when the account has two-factor enabled.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useAuth } from '../auth/session';
import { Button, ErrorBox, TextField, describeError } from '../components/ui';

export function LoginPage() {
  const auth = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'totp'>('password');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const codeBox = useRef<HTMLDivElement>(null);

  useEffect(() => {
    document.title = 'Sign in · C19 AI';
  }, []);
  useEffect(() => {
    if (step === 'totp') codeBox.current?.querySelector('input')?.focus();
  }, [step]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setPending(true);
    setError(null);
    try {
      const r = await auth.login(username, password, step === 'totp' ? code.trim() : undefined);
      if (r.totpRequired) setStep('totp');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setPending(false);
    }
  }

  return (
    <main className="centered">
      <form className="card login" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to C19 AI</h1>
        {auth.notice && (
          <p className="state state-info" role="status">
            {auth.notice}
          </p>
        )}
        {step === 'password' ? (
          <>
            <TextField label="User name or email" value={username} onChange={setUsername} autoComplete="username" required />
            <TextField
              label="Password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete="current-password"
              required
            />
          </>
        ) : (
          <div ref={codeBox}>
            <p>Two-factor authentication is on for this account. Enter the 6-digit code from your authenticator app.</p>
            <TextField
              label="Authentication code"
              value={code}
              onChange={setCode}
              autoComplete="one-time-code"
              inputMode="numeric"
              required
            />
          </div>
        )}
        <ErrorBox error={error} />
        <div className="row">
          <Button type="submit" kind="primary" pending={pending}>
            {step === 'password' ? 'Sign in' : 'Verify'}
          </Button>
          {step === 'totp' && (
            <Button
              onClick={() => {
                setStep('password');
                setCode('');
                setError(null);
              }}
            >
              Back
            </Button>
          )}
        </div>
      </form>
    </main>
  );
}
