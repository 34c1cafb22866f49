import cProfile, pstats, io, time
from tests.api_support import bearer, sign_in
def test_prof(client, make_user, make_course, tree):
    token = sign_in(client, make_user("李工", union=tree.a1))["access_token"]
    for i in range(30): make_course(f"c{i}")
    h = bearer(token)
    for _ in range(5): client.get("/api/v1/courses", headers=h); client.get("/api/v1/ping")
    for url, hh in (("/api/v1/ping", {}), ("/ping", {}), ("/api/v1/courses", h)):
        t = time.perf_counter()
        for _ in range(100): client.get(url, headers=hh)
        print(url, (time.perf_counter() - t) * 10, "ms each")
    pr = cProfile.Profile(); pr.enable()
    for _ in range(100): client.get("/api/v1/courses", headers=h)
    pr.disable()
    s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(45); print(s.getvalue()[:9000])
