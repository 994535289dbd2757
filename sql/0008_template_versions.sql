-- 0008_template_versions: a per-account version of the templates table,
-- so that a node may answer ListEmailTemplates with a reply it keeps in
-- memory once the database has said the version is still the one the
-- reply was built at (api.h, the reply cache).
--
-- Every change to templates, whoever makes it (sesd, an operator's
-- sesd_template_review(), hand-written SQL), moves the version of the
-- account in the same transaction, so a reader sees the new rows and the
-- new version together or neither. A missing row reads as version 0. The
-- bump takes the account's row lock until commit: template writes of one
-- account are serialised, which they nearly are already (0002).
--
-- A version is never used twice for different contents: it is at least
-- the microseconds of the wall clock, not just the last one plus one, so a
-- database restored from a backup or failed over to a standby that lost
-- recent commits does not hand out again a version a node may still keep.
-- Never delete rows from this table or lower a version.
CREATE TABLE template_versions (
	app_id  bigint PRIMARY KEY,
	version bigint NOT NULL
);

CREATE FUNCTION sesd_templates_bump(app bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO template_versions AS v (app_id, version)
	VALUES (app, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
	ON CONFLICT (app_id) DO UPDATE SET version = greatest(v.version + 1,
		(extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
$$;

CREATE FUNCTION sesd_templates_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		UPDATE template_versions SET version = greatest(version + 1,
			(extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		PERFORM sesd_templates_bump(OLD.app_id);
	END IF;
	IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.app_id <> OLD.app_id) THEN
		PERFORM sesd_templates_bump(NEW.app_id);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER templates_changed AFTER INSERT OR UPDATE OR DELETE ON templates
	FOR EACH ROW EXECUTE FUNCTION sesd_templates_changed();
CREATE TRIGGER templates_truncated AFTER TRUNCATE ON templates
	FOR EACH STATEMENT EXECUTE FUNCTION sesd_templates_changed();
