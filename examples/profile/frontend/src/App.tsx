import { useMemo, useState, type SubmitEvent } from "react";
import type { ChannelError } from "rxd-client";
import { useChannelState } from "rxd-client/react";
import { ApiError, patchUser } from "./api";
import { UserChannel } from "./generated/profile.channels";
import type { User } from "./generated/profile.interfaces";
import type { UserPatchInput } from "./generated/profile.api";
import type { Editable, Session } from "./session";

const LABELS: Record<Editable, string> = { first_name: "First name", last_name: "Last name" };

export function App({ session }: { session: Session }) {
  const { token, userId, edit } = session;
  if (token === null || userId === null) {
    return (
      <main className="page">
        <h1>rxd profile</h1>
        <p className="hint" data-testid="usage">
          Open two windows on one user, one editing each name:{" "}
          <a href="/?token=ada-token&user=1&edit=first">first name</a> and{" "}
          <a href="/?token=ada-token&user=1&edit=last">last name</a>. Demo tokens: <code>ada-token</code> (every
          user), <code>grace-token</code> (user 2), <code>linus-token</code> (user 3).
        </p>
      </main>
    );
  }
  return <ProfilePage key={`${token} ${userId}`} token={token} userId={userId} edit={edit} />;
}

/** One user, live: the channel lives as long as this component. */
function ProfilePage({ token, userId, edit }: { token: string; userId: number; edit: Editable }) {
  const channel = useMemo(() => new UserChannel(userId, token), [userId, token]);
  const { state, connected, error } = useChannelState(channel);
  const status = error !== null ? "disconnected" : connected ? "connected" : "connecting";
  const readOnly: Editable = edit === "first_name" ? "last_name" : "first_name";

  return (
    <main className="page">
      <header className="page-header">
        <h1>Profile {userId}</h1>
        <span className={`status status-${status}`} data-testid="connection-status">
          {status}
        </span>
      </header>
      {error !== null && <ChannelErrorBanner error={error} />}
      {state === null ? (
        error === null &&
        (connected ? (
          <p className="banner" data-testid="user-deleted">
            This user was deleted.
          </p>
        ) : (
          <p className="hint">Loading…</p>
        ))
      ) : (
        <section className="profile">
          {/* The editable field first, in the order of the form. */}
          {edit === "first_name" ? (
            <>
              <EditableName field="first_name" user={state} token={token} />
              <ReadOnlyValue field="last_name" label={LABELS[readOnly]} value={state.last_name} />
            </>
          ) : (
            <>
              <ReadOnlyValue field="first_name" label={LABELS[readOnly]} value={state.first_name} />
              <EditableName field="last_name" user={state} token={token} />
            </>
          )}
          <ReadOnlyValue field="email" label="Email" value={state.email} />
        </section>
      )}
    </main>
  );
}

function ReadOnlyValue({ field, label, value }: { field: string; label: string; value: string }) {
  return (
    <div className="row">
      <span className="label">{label}</span>
      <output className="value" data-testid={`${field}-value`}>
        {value}
      </output>
    </div>
  );
}

/**
 * An input that saves with Enter or its button. Until edited it shows the
 * live value; a draft stays until the server accepts it, and a refusal shows
 * the field's error under it.
 */
function EditableName({ field, user, token }: { field: Editable; user: User; token: string }) {
  const [draft, setDraft] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const live = user[field];

  const save = async () => {
    const value = draft ?? live;
    const patch: UserPatchInput = field === "first_name" ? { first_name: value } : { last_name: value };
    setSaving(true);
    try {
      await patchUser(token, user.id, patch);
      // The channel brings the saved value; the input follows it again.
      setDraft(null);
      setProblem(null);
    } catch (error) {
      setProblem(error instanceof ApiError ? (error.fieldError(field) ?? error.message) : String(error));
    } finally {
      setSaving(false);
    }
  };

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    void save();
  };

  return (
    <form className="row" onSubmit={submit}>
      <label className="label" htmlFor={`${field}-input`}>
        {LABELS[field]}
      </label>
      <span className="editor">
        <input
          id={`${field}-input`}
          data-testid={`${field}-input`}
          value={draft ?? live}
          aria-invalid={problem !== null}
          onChange={(event) => {
            setDraft(event.target.value);
          }}
        />
        <button type="submit" data-testid={`${field}-save`} disabled={saving}>
          Save
        </button>
        {draft !== null && draft !== live && <span className="hint">unsaved</span>}
      </span>
      {problem !== null && (
        <span className="field-error" role="alert" data-testid={`${field}-error`}>
          {problem}
        </span>
      )}
    </form>
  );
}

const ERROR_TEXT: Record<string, string> = {
  unauthorized: "Your token was not accepted.",
  forbidden: "You may not see this user.",
  not_found: "There is no such user.",
};

function ChannelErrorBanner({ error }: { error: ChannelError }) {
  return (
    <div className="banner error" role="alert" data-testid="channel-error" data-kind={error.kind}>
      <strong>{error.kind}</strong>: {ERROR_TEXT[error.kind] ?? "The connection was closed."}
    </div>
  );
}
