-- pgbench script: the reference for one stay notification, the same three
-- rows cancuoc writes in one transaction (the notification, an audit row,
-- an outbox event) as plain INSERTs without the access log's hash chain or
-- the outbox's ordering lock.
\set r random(1, 2000000000)
BEGIN;
INSERT INTO bench_stay_ref.stays (id, reporter, reference, province, commune, arrival, late, doc)
  VALUES ('st_' || :r || '_' || :client_id, 'p_hotel', 'ref' || :r || '_' || :client_id, '01', '00004', now(), false,
  '{"id":"st_x","reporter":"p_hotel","reference":"t1","host":"Khách sạn Ba Đình","place":{"era":"34","province":"01","commune":"00004","detail":"số 5 ngõ Trúc Lạc"},"unit":{"province":"01","commune":"00004"},"guests":[{"pin":"001090000001"},{"name":"John Smith","document":"P1234567"}],"arrival":"2026-03-10T16:20:00Z","departure":null,"notified_at":"2026-03-10T16:30:00Z","deadline":"2026-03-10T16:00:00Z","on_time":true,"late_by_seconds":0}');
INSERT INTO bench_stay_ref.audit (at, actor, action, pin, purpose, outcome) VALUES (now(), 'p_hotel', 'residence.stay_notified', '001090000001', 'Thông báo lưu trú', 'ok');
INSERT INTO bench_stay_ref.events (id, type, actor, at, data) VALUES ('ev_' || :r || '_' || :client_id, 'residence.stay_notified', 'p_hotel', now(), '{"stay":"st_x","guests":2,"on_time":true}');
COMMIT;
