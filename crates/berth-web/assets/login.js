// The login link's page posts its one-time code back to this origin at
// once: the login is a same-origin POST, never a GET another site could
// make a browser follow.
document.getElementById("login").submit();
