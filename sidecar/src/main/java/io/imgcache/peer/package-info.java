/** The peer protocol (GET /_groupcache/&lt;group&gt;/&lt;base64url key&gt;): its client, the ring-based owner choice, and the questions put to every member (purge, status). */
package io.imgcache.peer;
