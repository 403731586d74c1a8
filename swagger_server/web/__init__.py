"""Pages for people: a login field, the job list with a submit form, and a report per job."""
