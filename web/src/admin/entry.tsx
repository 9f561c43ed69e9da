// The `/admin/*` route: decides before any console code is fetched. People without an
// admin permission get the small "not allowed" chunk, never the console's.
import { lazy, Suspense } from "react";
import { Loading, useMe } from "../auth";
import { isAdmin } from "./access";

const Console = lazy(() => import("./Console"));
const NotAllowed = lazy(() => import("./NotAllowed"));

export function AdminEntry() {
  const me = useMe();
  if (!me.data) return <Loading />;
  return <Suspense fallback={<Loading />}>{isAdmin(me.data) ? <Console /> : <NotAllowed />}</Suspense>;
}
