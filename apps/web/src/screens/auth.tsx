import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { Button, ErrorText, Field } from "../components/ui.tsx";
import { errorMessage, useTRPC } from "../trpc.ts";

function AuthForm({ mode }: { mode: "sign-in" | "sign-up" }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const onSuccess = () => queryClient.invalidateQueries();
  const signIn = useMutation(trpc.auth.signIn.mutationOptions({ onSuccess }));
  const signUp = useMutation(trpc.auth.signUp.mutationOptions({ onSuccess }));
  const m = mode === "sign-in" ? signIn : signUp;
  return (
    <main className="mx-auto mt-24 max-w-sm rounded border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-1 text-xl font-bold">Hitrail</h1>
      <p className="mb-4 text-sm text-slate-500">{mode === "sign-in" ? "Sign in" : "Create your account"}</p>
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          m.mutate({ email, password });
        }}
      >
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
        />
        <Field
          label="Password"
          type="password"
          autoComplete={mode === "sign-in" ? "current-password" : "new-password"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <ErrorText error={m.error ? errorMessage(m.error) : null} />
        <Button type="submit" variant="primary" disabled={m.isPending}>
          {mode === "sign-in" ? "Sign in" : "Sign up"}
        </Button>
      </form>
      <p className="mt-4 text-sm">
        {mode === "sign-in" ? (
          <Link to="/sign-up" className="text-blue-700 underline">
            No account? Sign up
          </Link>
        ) : (
          <Link to="/" className="text-blue-700 underline">
            Have an account? Sign in
          </Link>
        )}
      </p>
    </main>
  );
}

export const SignIn = () => <AuthForm mode="sign-in" />;
export const SignUp = () => <AuthForm mode="sign-up" />;
