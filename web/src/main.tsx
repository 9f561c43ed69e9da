import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { ApiError } from "./api/client";
import { AuthProvider, RequireAuth } from "./auth";
import { Shell } from "./components/Shell";
import "./i18n";
import { SignIn } from "./pages/auth/SignIn";
import { Chat, ChatHome } from "./pages/chat/Chat";
import { Conversation } from "./pages/chat/Conversation";
import { NewConversation } from "./pages/chat/NewConversation";
import { Feed, PostPage } from "./pages/feed/Feed";
import { Invite } from "./pages/links/Invite";
import { ConfirmEmail, NotFound, SignedOut, SsoCallback, SsoError } from "./pages/links/Misc";
import { Redeem } from "./pages/links/Redeem";
import { ForgotPassword, SetPassword } from "./pages/links/SetPassword";
import { Join, Signup } from "./pages/links/Signup";
import { Me } from "./pages/me/Me";
import { ForcedEnrol } from "./pages/me/TwoFactor";
import { Consent } from "./pages/oauth/Consent";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal will not change by asking again; a lost connection may.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      staleTime: 5_000,
      refetchOnWindowFocus: true,
    },
  },
});

const router = createBrowserRouter([
  // Every link Staffroom emails or prints.
  { path: "/signin", element: <SignIn /> },
  { path: "/setup", element: <SetPassword kind="setup" /> },
  { path: "/reset-password", element: <SetPassword kind="reset" /> },
  { path: "/forgot-password", element: <ForgotPassword /> },
  { path: "/invite", element: <Invite /> },
  { path: "/join", element: <Join /> },
  { path: "/signup", element: <Signup /> },
  { path: "/confirm-email", element: <ConfirmEmail /> },
  { path: "/redeem", element: <Redeem /> },
  { path: "/sso/callback", element: <SsoCallback /> },
  { path: "/sso/error", element: <SsoError /> },
  { path: "/signed-out", element: <SignedOut /> },
  {
    path: "/enrol",
    element: (
      <RequireAuth>
        <ForcedEnrol />
      </RequireAuth>
    ),
  },
  {
    // The OAuth authorization endpoint: an app asks to act for the signed-in person.
    path: "/oauth/authorize",
    element: (
      <RequireAuth>
        <Consent />
      </RequireAuth>
    ),
  },
  {
    element: (
      <RequireAuth>
        <Shell />
      </RequireAuth>
    ),
    children: [
      { path: "/", element: <Navigate to="/feed" replace /> },
      { path: "/feed", element: <Feed /> },
      { path: "/channels/:channelId", element: <Feed /> },
      { path: "/posts/:postId", element: <PostPage /> },
      {
        path: "/chat",
        element: <Chat />,
        children: [
          { index: true, element: <ChatHome /> },
          { path: "new", element: <NewConversation /> },
          { path: ":conversationId", element: <Conversation /> },
        ],
      },
      { path: "/me", element: <Me /> },
      // The admin console: its own chunks, fetched only when opened (web/src/admin/).
      { path: "/admin/*", lazy: async () => ({ Component: (await import("./admin/entry")).AdminEntry }) },
    ],
  },
  { path: "*", element: <NotFound /> },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </QueryClientProvider>
  </StrictMode>,
);
