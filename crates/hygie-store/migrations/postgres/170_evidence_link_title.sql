-- Issue 18: an evidence link has a title (what it shows), besides its address.
ALTER TABLE evidence ADD COLUMN title TEXT;
